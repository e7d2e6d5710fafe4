//! The human-readable API reference: a page that renders the document with Redoc, served
//! from the copy vendored in `vendor/redoc` (no CDN, no request to any other host).

use axum::http::header::{
    ACCEPT, CACHE_CONTROL, CONTENT_SECURITY_POLICY as CONTENT_SECURITY_POLICY_HEADER, CONTENT_TYPE,
};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{Html, IntoResponse, Response};

use super::Lang;

pub const SCRIPT_PATH: &str = "/open-api/redoc.standalone.js";

static REDOC: &[u8] = include_bytes!("../../vendor/redoc/redoc.standalone.js");

pub async fn script() -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
            (CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
        ],
        REDOC,
    )
        .into_response()
}

/// A client that asks for JSON (and not for a page) gets the document itself: these paths
/// served the raw document before the reference existed.
pub fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    accept.contains("application/json") && !accept.contains("text/html")
}

/// The reference page may load nothing from another host: the browser enforces it (Redoc
/// would otherwise fetch its logo from Redocly's CDN; without it the logo is just absent).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; \
     worker-src 'self' blob:; connect-src 'self'";

pub fn page(lang: Lang) -> Response {
    let (title, noscript, loading) = match lang {
        Lang::En => (
            "vroom API reference",
            "This reference needs JavaScript. The document itself is at",
            "Loading the API reference…",
        ),
        Lang::Ko => (
            "vroom API 레퍼런스",
            "이 레퍼런스를 보려면 JavaScript가 필요합니다. 문서 원본:",
            "API 레퍼런스를 불러오는 중…",
        ),
    };
    let code = lang.code();
    let doc = format!("/open-api/{code}/openapi.json");
    let html = Html(format!(
        r#"<!doctype html>
<html lang="{code}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body {{ margin: 0; font-family: system-ui, sans-serif; }} #loading {{ padding: 2rem; }}</style>
</head>
<body>
<main id="reference" aria-label="{title}"><p id="loading" role="status">{loading}</p></main>
<noscript><p>{noscript} <a href="{doc}">{doc}</a></p></noscript>
<script src="{SCRIPT_PATH}"></script>
<script>
Redoc.init("{doc}", {{
  expandResponses: "200,201",
  jsonSampleExpandLevel: 3,
  hideDownloadButton: false,
  theme: {{ typography: {{ fontFamily: "system-ui, sans-serif", headings: {{ fontFamily: "system-ui, sans-serif" }}, code: {{ fontFamily: "ui-monospace, monospace" }} }} }}
}}, document.getElementById("reference"));
</script>
</body>
</html>
"#
    ));
    ([(CONTENT_SECURITY_POLICY_HEADER, HeaderValue::from_static(CONTENT_SECURITY_POLICY))], html).into_response()
}
