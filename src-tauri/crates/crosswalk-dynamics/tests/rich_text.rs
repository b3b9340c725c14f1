//! Rich text both ways against the sandbox over real HTTP: a rich-text column (`cw_richnotes`,
//! a Memo with `FormatName` `RichText`) mapped two-way to the Jira description. Formatting
//! written in Jira arrives in Dynamics as equivalent HTML, HTML edited in Dynamics arrives in
//! Jira as the same ADF, and neither side's write comes back as a change (no echo), even when
//! Dynamics' editor rewrites the markup.

mod common;

use common::{base_settings, count, Harness};
use crosswalk_dynamics::convert::rich::html_to_adf;
use crosswalk_store::{EventAction, EventRow};
use serde_json::{json, Value};

fn settings() -> Value {
    let mut settings = base_settings();
    settings["mode"] = json!("two_way");
    settings["fields"] = json!([
        {"dataverse": "title", "jira": "summary"},
        {"dataverse": "cw_richnotes", "jira": "description"}
    ]);
    settings
}

async fn assert_quiet(h: &Harness, polls: usize) {
    for poll in 0..polls {
        let (_, events) = h.poll().await;
        let writes = Harness::writes(&events);
        assert!(writes.is_empty(), "poll {poll} wrote: {writes:#?}");
    }
}

fn failed(events: &[EventRow]) -> Vec<&EventRow> {
    events
        .iter()
        .filter(|e| e.action == EventAction::Failed)
        .collect()
}

fn doc(content: Value) -> Value {
    json!({"type": "doc", "version": 1, "content": content})
}

fn text(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

fn marked(text: &str, marks: Value) -> Value {
    json!({"type": "text", "text": text, "marks": marks})
}

fn list(kind: &str, items: &[&str]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|item| json!({"type": "listItem", "content": [{"type": "paragraph", "content": [text(item)]}]}))
        .collect();
    json!({"type": kind, "content": items})
}

fn link(href: &str) -> Value {
    json!([{"type": "link", "attrs": {"href": href}}])
}

#[tokio::test]
async fn rich_text_column_and_jira_description_sync_both_ways_without_echo() {
    let h = Harness::start(settings()).await;

    // 1. A case created in Dynamics with HTML from its rich-text editor.
    h.poll().await;
    h.tick().await;
    let created_html = concat!(
        "<div class=\"ck-content\" data-wrapper=\"true\" dir=\"ltr\">",
        "<p>Printer on <strong>floor 3</strong> is <em>offline</em>.<br>",
        "See <a href=\"https://example.com/kb/42\" target=\"_blank\">the article</a>.</p>",
        "<ul><li>Tray 1 jams</li><li>Tray 2 is empty</li></ul>",
        "<ol><li>Restart</li><li>Call Ann</li></ol></div>"
    );
    let case = h.create_case("Rich notes", json!({"cw_richnotes": created_html}));
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(
        count(&events, "issue", EventAction::Created),
        1,
        "{events:#?}"
    );
    let key = h.link_of(&case).jira_key;
    assert_eq!(
        h.issue_field(&key, "description"),
        doc(json!([
            {"type": "paragraph", "content": [
                text("Printer on "),
                marked("floor 3", json!([{"type": "strong"}])),
                text(" is "),
                marked("offline", json!([{"type": "em"}])),
                text("."),
                {"type": "hardBreak"},
                text("See "),
                marked("the article", link("https://example.com/kb/42")),
                text("."),
            ]},
            list("bulletList", &["Tray 1 jams", "Tray 2 is empty"]),
            list("orderedList", &["Restart", "Call Ann"]),
        ]))
    );
    assert_quiet(&h, 2).await;

    // 2. A Jira agent edits the description: bold, italic, a link, line breaks, both lists.
    h.tick().await;
    let edited = doc(json!([
        {"type": "paragraph", "content": [
            text("Fixed "),
            marked("today", json!([{"type": "strong"}])),
            text(" by "),
            marked("Ann", json!([{"type": "em"}])),
            {"type": "hardBreak"},
            text("see "),
            marked("KB 7", link("https://example.com/kb/7?tab=steps&lang=en")),
            {"type": "hardBreak"},
            marked("all", json!([{"type": "strong"}, {"type": "em"}])),
            text(" trays checked"),
        ]},
        {"type": "paragraph", "content": [text("Steps:")]},
        list("bulletList", &["Cleaned rollers", "Replaced tray 2"]),
        list("orderedList", &["Power off", "Power on"]),
    ]));
    h.edit_issue(&key, json!({"description": edited.clone()}));
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(
        count(&events, "record", EventAction::Updated),
        1,
        "{events:#?}"
    );
    let html = h.case_value(&case, "cw_richnotes");
    let html = html.as_str().expect("HTML in the rich-text column");
    for tag in [
        "<strong>today</strong>",
        "<em>Ann</em>",
        "<br>",
        "<a href=\"https://example.com/kb/7?tab=steps&amp;lang=en\">KB 7</a>",
        "<ul><li>Cleaned rollers</li>",
        "<ol><li>Power off</li>",
    ] {
        assert!(html.contains(tag), "{tag} in {html}");
    }
    // Equivalent HTML: read back as a browser shows it, it is the very document Jira holds.
    assert_eq!(html_to_adf(html), edited);
    assert_eq!(h.issue_field(&key, "description"), edited);
    assert_quiet(&h, 3).await;

    // 3. Dynamics' editor saves the same content with other markup: nothing to copy.
    h.tick().await;
    let reformatted = concat!(
        "<div class=\"ck-content\" data-wrapper=\"true\" dir=\"ltr\">\n",
        "<p>Fixed <b>today</b> by <i>Ann</i><br/>see ",
        "<a href=\"https://example.com/kb/7?tab=steps&amp;lang=en\" target=\"_blank\" ",
        "rel=\"noopener noreferrer\">KB 7</a><br><em><strong>all</strong></em> trays checked</p>\n",
        "<p>Steps:</p>\n<ul>\n  <li><p>Cleaned rollers</p></li>\n  <li>Replaced tray 2</li>\n</ul>\n",
        "<ol><li>Power off</li><li>Power on</li></ol>\n</div>"
    );
    h.update_case(&case, json!({"cw_richnotes": reformatted}));
    assert_quiet(&h, 2).await;
    assert_eq!(h.issue_field(&key, "description"), edited);

    // 4. A Dynamics user edits the HTML: Jira receives the same document as ADF.
    h.tick().await;
    h.update_case(
        &case,
        json!({"cw_richnotes": concat!(
            "<div class=\"ck-content\"><p><strong>Reopened</strong>: the <em>tray 2</em> ",
            "sensor<br>fails again, see <a href=\"https://example.com/kb/8\">KB 8</a></p>",
            "<ul><li>Seen at 09:00</li><li>Seen at 11:30</li></ul>",
            "<ol><li>Order a sensor</li></ol></div>"
        )}),
    );
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(
        count(&events, "issue", EventAction::Updated),
        1,
        "{events:#?}"
    );
    assert_eq!(
        h.issue_field(&key, "description"),
        doc(json!([
            {"type": "paragraph", "content": [
                marked("Reopened", json!([{"type": "strong"}])),
                text(": the "),
                marked("tray 2", json!([{"type": "em"}])),
                text(" sensor"),
                {"type": "hardBreak"},
                text("fails again, see "),
                marked("KB 8", link("https://example.com/kb/8")),
            ]},
            list("bulletList", &["Seen at 09:00", "Seen at 11:30"]),
            list("orderedList", &["Order a sensor"]),
        ]))
    );
    assert_quiet(&h, 3).await;
}
