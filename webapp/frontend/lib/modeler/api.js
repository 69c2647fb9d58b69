// JSON requests of the modeler, with the page's CSRF token; never throws for an HTTP status.

/** The CSRF token the page carries (base.html's meta). */
export function csrfToken(doc = document) {
  const meta = doc.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute("content") : "";
}

/** POST `body` as JSON: {status, body} (status 0 when the server could not be reached). */
export async function postJson(url, body, csrf = csrfToken()) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    });
  } catch (error) {
    return { status: 0, body: null, error };
  }
  let parsed = null;
  try {
    parsed = await response.json();
  } catch (error) {
    parsed = null; // an HTML error page (404 of a route that is not there yet, a proxy's 502)
  }
  return { status: response.status, body: parsed };
}

/** `template` with its %(name)s placeholders filled from `params`. */
export function format(template, params = {}) {
  return String(template).replace(/%\((\w+)\)s/g, (whole, key) => (key in params ? String(params[key]) : whole));
}
