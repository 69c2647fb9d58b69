// The modeler's own words (palette, context pad, replace menu) in Vietnamese, keyed by bpmn-js's English
// strings. Chosen by the page's <html lang>; a string not listed here stays in English.
export const VI = {
  "Activate hand tool": "Công cụ kéo sơ đồ",
  "Activate lasso tool": "Công cụ chọn vùng",
  "Activate create/remove space tool": "Công cụ thêm/bớt khoảng trống",
  "Activate global connect tool": "Công cụ nối phần tử",
  "Create start event": "Tạo sự kiện bắt đầu",
  "Create intermediate/boundary event": "Tạo sự kiện trung gian/biên",
  "Create end event": "Tạo sự kiện kết thúc",
  "Create gateway": "Tạo cổng rẽ nhánh",
  "Create task": "Tạo công việc",
  "Create data object reference": "Tạo đối tượng dữ liệu",
  "Create data store reference": "Tạo kho dữ liệu",
  "Create expanded sub-process": "Tạo quy trình con (mở rộng)",
  "Create pool/participant": "Tạo bể/bên tham gia",
  "Create group": "Tạo nhóm",
  "Append end event": "Nối sự kiện kết thúc",
  "Append gateway": "Nối cổng rẽ nhánh",
  "Append task": "Nối công việc",
  "Append intermediate/boundary event": "Nối sự kiện trung gian/biên",
  "Append timer intermediate catch event": "Nối sự kiện hẹn giờ",
  "Append message intermediate catch event": "Nối sự kiện chờ thông điệp",
  "Append receive task": "Nối công việc nhận thông điệp",
  "Append text annotation": "Nối ghi chú",
  "Add text annotation": "Thêm ghi chú",
  "Add lane above": "Thêm làn phía trên",
  "Add lane below": "Thêm làn phía dưới",
  "Divide into two lanes": "Chia thành hai làn",
  "Divide into three lanes": "Chia thành ba làn",
  "Change element": "Đổi loại phần tử",
  "Delete": "Xoá",
  "Connect to other element": "Nối tới phần tử khác",
  "Connect using association": "Nối bằng liên kết",
  "Search in diagram": "Tìm trong sơ đồ",
  "Toggle non-interrupting": "Bật/tắt không ngắt",
  "Loop": "Lặp",
  "Parallel multi-instance": "Nhiều phiên bản song song",
  "Sequential multi-instance": "Nhiều phiên bản tuần tự",
  "Task": "Công việc",
  "User task": "Công việc của người dùng",
  "Service task": "Công việc tự động",
  "Script task": "Công việc chạy script",
  "Business rule task": "Công việc theo bảng quyết định",
  "Send task": "Công việc gửi thông điệp",
  "Receive task": "Công việc nhận thông điệp",
  "Manual task": "Công việc thủ công",
  "Call activity": "Gọi quy trình khác",
  "Sub-process": "Quy trình con",
  "Sub-process (collapsed)": "Quy trình con (thu gọn)",
  "Sub-process (expanded)": "Quy trình con (mở rộng)",
  "Event sub-process": "Quy trình con theo sự kiện",
  "Exclusive gateway": "Cổng rẽ nhánh loại trừ",
  "Parallel gateway": "Cổng song song",
  "Inclusive gateway": "Cổng bao hàm",
  "Event-based gateway": "Cổng theo sự kiện",
  "Start event": "Sự kiện bắt đầu",
  "End event": "Sự kiện kết thúc",
  "Terminate end event": "Sự kiện kết thúc toàn bộ",
  "Message start event": "Sự kiện bắt đầu bằng thông điệp",
  "Timer start event": "Sự kiện bắt đầu hẹn giờ",
  "Message end event": "Sự kiện kết thúc gửi thông điệp",
  "Error end event": "Sự kiện kết thúc báo lỗi",
  "Intermediate throw event": "Sự kiện trung gian",
  "Message intermediate catch event": "Sự kiện chờ thông điệp",
  "Message intermediate throw event": "Sự kiện gửi thông điệp",
  "Timer intermediate catch event": "Sự kiện hẹn giờ",
  "Timer boundary event": "Sự kiện biên hẹn giờ",
  "Timer boundary event (non-interrupting)": "Sự kiện biên hẹn giờ (không ngắt)",
  "Message boundary event": "Sự kiện biên nhận thông điệp",
  "Message boundary event (non-interrupting)": "Sự kiện biên nhận thông điệp (không ngắt)",
  "Error boundary event": "Sự kiện biên bắt lỗi",
  "Sequence flow": "Luồng tuần tự",
  "Default flow": "Luồng mặc định",
  "Conditional flow": "Luồng có điều kiện",
  "Data object reference": "Đối tượng dữ liệu",
  "Data store reference": "Kho dữ liệu",
  "Empty pool/participant": "Bể/bên tham gia trống",
  "Expanded pool/participant": "Bể/bên tham gia mở rộng",
  "Tasks": "Công việc",
  "Gateways": "Cổng rẽ nhánh",
  "Events": "Sự kiện",
  "Sub-processes": "Quy trình con",
  "Participants": "Bên tham gia",
  "Data objects": "Dữ liệu",
};

// dmn-js's decision table and diagram: the words a designer editing a routing or deadline table reads most.
export const DMN_VI = {
  "When": "Khi",
  "And": "Và",
  "Then": "Thì",
  "Hit policy:": "Chính sách khớp:",
  "Hit policy": "Chính sách khớp",
  "Unique": "Duy nhất",
  "First": "Đầu tiên",
  "Priority": "Ưu tiên",
  "Any": "Bất kỳ",
  "Collect": "Gom",
  "Rule order": "Theo thứ tự luật",
  "Output order": "Theo thứ tự đầu ra",
  "View DRD": "Xem sơ đồ quyết định",
  "Add input": "Thêm đầu vào",
  "Add output": "Thêm đầu ra",
  "Input": "Đầu vào",
  "Output": "Đầu ra",
  "Input label: ": "Nhãn đầu vào: ",
  "Input expression: ": "Biểu thức đầu vào: ",
  "Output label": "Nhãn đầu ra",
  "Output name": "Tên đầu ra",
  "Type": "Kiểu",
  "Value": "Giá trị",
  "Delete": "Xoá",
  "Decision name: ": "Tên quyết định: ",
  "Strings must be in double quotes": "Chuỗi phải nằm trong dấu ngoặc kép",
  "Expression language": "Ngôn ngữ biểu thức",
  "Add rule": "Thêm luật",
};

/** bpmn-js's translate function for `dictionary` ({placeholder} replaced by `replacements`). */
export function makeTranslate(dictionary) {
  return function translate(template, replacements = {}) {
    const text = dictionary[template] || template;
    return text.replace(/{([^}]+)}/g, (whole, key) => (key in replacements ? replacements[key] : whole));
  };
}

/** The additional module that puts the modeler's words in `lang` (none for English); `more` adds words (the
 * properties panel's PANEL_VI). bpmn-js and dmn-js both take it. */
export function translateModuleFor(lang, more = {}) {
  if (!String(lang || "").toLowerCase().startsWith("vi")) return null;
  return { translate: ["value", makeTranslate({ ...more, ...DMN_VI, ...VI })] };
}

/** dmn-js's options giving each of its views (diagram, table, literal and boxed expression) the words in `lang`
 * (its `common` options cannot carry modules: each view's own additionalModules replace them). */
export function dmnTranslation(lang) {
  const translate = translateModuleFor(lang);
  if (!translate) return {};
  const views = ["drd", "decisionTable", "literalExpression", "boxedExpression"];
  return Object.fromEntries(views.map((view) => [view, { additionalModules: [translate] }]));
}
