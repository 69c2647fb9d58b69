// The words of the canvas checks, in the reader's language (the page's <html lang>): the project's rules
// and bpmnlint's recommended ones (bpmnlint itself speaks English only).
const WORDS = {
  "process-executable": {
    en: "The process is not marked executable: tick “Executable” in the process's properties",
    vi: "Quy trình chưa được đánh dấu là thực thi được: chọn “Executable” trong thuộc tính của quy trình",
  },
  "user-task-lane": {
    en: "This user task sits in no lane: put it in the lane of the role that does it",
    vi: "Công việc này không nằm trong làn nào: đặt nó vào làn của vai trò thực hiện",
  },
  "lane-role": {
    en: "Lane %(lane)s names no known role: name it after one of %(known)s",
    vi: "Làn %(lane)s không mang tên vai trò nào đã biết: đặt tên theo một trong %(known)s",
  },
  "service-no-operator": {
    en: "This service task has no operator: choose one from the registry",
    vi: "Tác vụ dịch vụ này chưa có thao tác: chọn một thao tác trong danh mục",
  },
  "service-unknown-operator": {
    en: "Operator %(operator)s does not exist: choose one from the registry",
    vi: "Thao tác %(operator)s không tồn tại: chọn một thao tác trong danh mục",
  },
  "service-missing-parameter": {
    en: "Operator %(operator)s needs parameter %(param)s: give it a value",
    vi: "Thao tác %(operator)s cần tham số %(param)s: hãy nhập giá trị",
  },
  "service-unknown-parameter": {
    en: "Operator %(operator)s has no parameter %(param)s: remove it",
    vi: "Thao tác %(operator)s không có tham số %(param)s: hãy xoá nó",
  },
  "timer-definition": {
    en: "This timer has no definition: give it a date, a duration or a cycle (a Python expression such as \"PT4H\")",
    vi: "Bộ hẹn giờ chưa có định nghĩa: nhập thời điểm, khoảng thời gian hoặc chu kỳ (biểu thức Python như \"PT4H\")",
  },
  "call-activity-called": {
    en: "This call activity calls no process: name the process it calls",
    vi: "Hoạt động gọi này chưa gọi quy trình nào: nhập quy trình được gọi",
  },
  "business-rule-decision": {
    en: "This business rule task calls no decision table: name the decision it calls",
    vi: "Tác vụ quy tắc nghiệp vụ này chưa gọi bảng quyết định nào: nhập bảng quyết định được gọi",
  },
  "business-rule-unknown-decision": {
    en: "Decision %(decision)s is in none of the files nor deployed: add its file or fix the name",
    vi: "Bảng quyết định %(decision)s không có trong các tệp cũng như chưa được triển khai: thêm tệp hoặc sửa tên",
  },
  // bpmnlint's recommended rules, by rule name.
  "label-required": { vi: "Phần tử chưa có tên" },
  "start-event-required": { vi: "Quy trình chưa có sự kiện bắt đầu" },
  "end-event-required": { vi: "Quy trình chưa có sự kiện kết thúc" },
  "no-disconnected": { vi: "Phần tử không được nối với phần tử nào" },
  "no-implicit-split": { vi: "Rẽ nhánh ngầm: dùng cổng (gateway) để rẽ nhánh" },
  "no-implicit-end": { vi: "Kết thúc ngầm: nối phần tử tới một sự kiện kết thúc" },
  "no-implicit-start": { vi: "Bắt đầu ngầm: nối phần tử từ một sự kiện bắt đầu" },
  "conditional-flows": { vi: "Luồng rẽ nhánh thiếu điều kiện hoặc luồng mặc định" },
  "no-duplicate-sequence-flows": { vi: "Có luồng tuần tự bị trùng" },
  "no-gateway-join-fork": { vi: "Cổng vừa gộp vừa tách: tách thành hai cổng" },
  "single-blank-start-event": { vi: "Chỉ được có một sự kiện bắt đầu trống" },
  "single-event-definition": { vi: "Sự kiện chỉ được có một định nghĩa" },
  "fake-join": { vi: "Gộp giả: dùng cổng để gộp các luồng" },
  "superfluous-gateway": { vi: "Cổng thừa: chỉ có một luồng vào và một luồng ra" },
  "superfluous-termination": { vi: "Sự kiện kết thúc chấm dứt (terminate) là thừa" },
  "no-overlapping-elements": { vi: "Các phần tử chồng lên nhau" },
  "no-bpmndi": { vi: "Phần tử không có trên sơ đồ" },
  "no-complex-gateway": { vi: "Cổng phức hợp không được hỗ trợ" },
  "no-inclusive-gateway": { vi: "Nên tránh cổng bao hàm (inclusive)" },
  "event-based-gateway": { vi: "Cổng theo sự kiện phải dẫn tới các sự kiện bắt" },
  "global": { vi: "Phần tử dùng chung không được tham chiếu" },
  "link-event": { vi: "Sự kiện liên kết không khớp cặp" },
  "ad-hoc-sub-process": { vi: "Quy trình con ad-hoc không hợp lệ" },
  "event-sub-process-typed-start-event": { vi: "Quy trình con sự kiện cần sự kiện bắt đầu có loại" },
  "sub-process-blank-start-event": { vi: "Quy trình con phải bắt đầu bằng sự kiện bắt đầu trống" },
  "superfluous-label": { vi: "Nhãn thừa" },
  list_title: { en: "Problems", vi: "Vấn đề" },
  list_none: { en: "No problems found", vi: "Không có vấn đề" },
  list_checking: { en: "Checking…", vi: "Đang kiểm tra…" },
  server_unreachable: {
    en: "The server's check could not be reached; the checks on the canvas still apply",
    vi: "Không gọi được kiểm tra của máy chủ; các kiểm tra trên sơ đồ vẫn áp dụng",
  },
};

/** The reader's language: the page's <html lang>, "vi" unless it says English. */
export function language() {
  const lang = (globalThis.document && document.documentElement.lang) || "vi";
  return lang.startsWith("en") ? "en" : "vi";
}

/** The text of `key` in the reader's language with its %(name)s placeholders filled; `fallback` (English)
 *  when there is no text for that language. */
export function say(key, params = {}, fallback = undefined) {
  const entry = WORDS[key] || {};
  const template = entry[language()] || entry.en || fallback || key;
  return String(template).replace(/%\((\w+)\)s/g, (whole, name) => (name in params ? String(params[name]) : whole));
}
