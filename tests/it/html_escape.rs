//! Every string from the data or the models shows as text in the HTML report: span names, services,
//! tag keys and values, status messages, model and check titles holding markup and script are
//! escaped, and Chromium runs none of it (each payload would log `xss-...` on the console).

use std::path::{Path, PathBuf};

use super::html::{artifacts, assert_clean_console, assert_self_contained, check_with_report, load, screenshot, tags};

const NAME: &str = "</script><script>console.error('xss-name')</script>";
const IMG: &str = "<img src=x onerror=\"console.error('xss-img')\">";
const SERVICE: &str = "<b onmouseover=\"console.error('xss-svc')\">svc</b>&amp;";
const KEY: &str = "\"><svg onload=console.error('xss-key')>";
const VALUE: &str = "</script><!--<script>console.error('xss-val')</script>\u{2028}";
const ERROR: &str = "<iframe src=\"javascript:console.error('xss-err')\"></iframe>";
/// The hostile trace's id as stored, and the span whose name is [`NAME`].
pub(super) const HOSTILE_TRACE: &str = "000000000000000000000000000000a1";
const HOSTILE_SPAN: &str = "0000000000000002";

/// A Zipkin file whose names, service, tags and error message are markup and script, plus a span
/// whose name holds a terminal escape sequence.
pub(super) fn hostile_zipkin(dir: &Path) -> PathBuf {
    let t = 1_700_000_000_000_000u64;
    let spans = serde_json::json!([
        { "traceId": "a1", "id": "1", "name": IMG, "timestamp": t, "duration": 1000,
          "localEndpoint": { "serviceName": SERVICE }, "tags": { KEY: VALUE } },
        { "traceId": "a1", "id": "2", "parentId": "1", "name": NAME, "timestamp": t + 100, "duration": 500,
          "localEndpoint": { "serviceName": SERVICE }, "tags": { "error": ERROR, KEY: VALUE } },
        { "traceId": "a1", "id": "3", "parentId": "1", "name": "evil\u{1b}[2J\u{1b}[31mred", "timestamp": t + 200,
          "duration": 100, "localEndpoint": { "serviceName": "plain" } }
    ]);
    let path = dir.join("hostile.json");
    std::fs::write(&path, serde_json::to_vec(&spans).unwrap()).unwrap();
    path
}

/// How Chromium serializes a text node holding `s`.
fn as_dom_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\u{a0}', "&nbsp;")
}

#[test]
fn hostile_names_and_tags_show_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let data = hostile_zipkin(dir.path());
    let model = dir.path().join("hostile.model");
    std::fs::write(
        &model,
        format!(
            "model \"<script>console.error('xss-title')</script>\" {{\n    expect no span(name = \"{NAME}\")\n}}\n\n\
             check \"<img src=x onerror=console.error('xss-check')>\" {{\n    count(span()) by name > 5\n}}\n"
        ),
    )
    .unwrap();
    let page_path = artifacts().join("hostile.html");
    let page = check_with_report(&model, &data, &page_path, &[]);
    assert_self_contained(&page);
    assert_eq!(
        page.matches("<script").count(),
        2,
        "only the page's own script and data blocks"
    );
    for hostile in [
        NAME,
        IMG,
        SERVICE,
        KEY,
        VALUE,
        ERROR,
        "<script>console",
        "<img",
        "<iframe",
        "\u{2028}",
    ] {
        assert!(!page.contains(hostile), "{hostile:?} is in the page unescaped");
    }

    // Open at the hostile span, so the panel also shows its tags.
    let loaded = load(&page_path, &format!("#span-{HOSTILE_TRACE}-{HOSTILE_SPAN}"));
    assert_clean_console(&loaded, 3);
    let dom = &loaded.dom;
    assert!(
        !dom.contains("<img") && !dom.contains("<iframe"),
        "no element made from data"
    );
    for tag in tags(dom) {
        assert!(!tag.contains(" on"), "an event handler attribute: <{tag}>");
    }
    // Every string is there, as text, exactly as in the data.
    for text in [NAME, IMG, SERVICE, "<script>console.error('xss-title')</script>"] {
        assert!(dom.contains(&as_dom_text(text)), "{text:?} is not shown as text");
    }
    let panel = &dom[dom.find("<aside id=\"tc-panel\"").unwrap()..dom.find("</aside>").unwrap()];
    assert!(
        panel.contains(&format!("<th>{}</th><td>{}</td>", as_dom_text(KEY), as_dom_text(VALUE))),
        "{panel}"
    );
    assert!(
        panel.contains(&format!("<td>error: {}</td>", as_dom_text(ERROR))),
        "{panel}"
    );
    assert!(panel.contains(&format!("<h3>{}</h3>", as_dom_text(NAME))), "{panel}");
    let chart = &dom[dom.find("<svg class=\"chart\"").unwrap()..dom.find("</svg>").unwrap()];
    assert!(
        chart.contains(&as_dom_text("<img src=x onerror")),
        "group labels are text: {chart}"
    );
    screenshot(&page_path, "hostile");
}
