//! Atlassian Document Format (§B.9), as much as a plain-text sync needs: plain text to ADF
//! (blank lines start paragraphs, single newlines become `hardBreak`, no empty `text` nodes) and
//! ADF to plain text (the inverse for documents built here; a readable rendering of the rest).

use serde_json::{json, Value};

/// An ADF document for `text`: paragraphs split at blank lines, line breaks as `hardBreak`.
///
/// Empty or blank text gives a document with no content (Jira rejects empty `text` nodes).
pub fn from_plain_text(text: &str) -> Value {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut paragraphs: Vec<Vec<&str>> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in normalized.split('\n') {
        if line.trim().is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    let content: Vec<Value> = paragraphs
        .into_iter()
        .map(|lines| {
            let mut inline = Vec::with_capacity(lines.len() * 2);
            for (idx, line) in lines.into_iter().enumerate() {
                if idx > 0 {
                    inline.push(json!({"type": "hardBreak"}));
                }
                inline.push(json!({"type": "text", "text": line}));
            }
            json!({"type": "paragraph", "content": inline})
        })
        .collect();
    json!({"type": "doc", "version": 1, "content": content})
}

/// The plain text of an ADF document: blocks separated by a blank line, `hardBreak` as `\n`,
/// list items as `- ` / `1. ` lines, mentions and emoji by their text. Marks are dropped.
/// Anything that is not an ADF node (e.g. `null`) reads as empty text.
pub fn to_plain_text(doc: &Value) -> String {
    let mut blocks = Vec::new();
    collect_blocks(doc, &mut blocks);
    blocks.join("\n\n")
}

fn children(node: &Value) -> &[Value] {
    node.get("content")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn node_type(node: &Value) -> &str {
    node.get("type").and_then(Value::as_str).unwrap_or_default()
}

/// Appends the text of each block under `node` (or of `node` itself) to `out`.
fn collect_blocks(node: &Value, out: &mut Vec<String>) {
    match node_type(node) {
        "doc" | "blockquote" | "panel" | "expand" | "layoutSection" | "layoutColumn" => {
            for child in children(node) {
                collect_blocks(child, out);
            }
        }
        "bulletList" | "orderedList" => {
            let ordered = node_type(node) == "orderedList";
            let lines: Vec<String> = children(node)
                .iter()
                .enumerate()
                .map(|(idx, item)| {
                    let mut inner = Vec::new();
                    collect_blocks(item, &mut inner);
                    let marker = if ordered {
                        format!("{}. ", idx + 1)
                    } else {
                        "- ".to_owned()
                    };
                    format!("{marker}{}", inner.join("\n"))
                })
                .collect();
            out.push(lines.join("\n"));
        }
        "listItem" => {
            for child in children(node) {
                collect_blocks(child, out);
            }
        }
        "rule" => out.push("---".to_owned()),
        "" => {}
        _ => {
            let mut text = String::new();
            inline_text(node, &mut text);
            out.push(text);
        }
    }
}

/// Appends the text of an inline node (or of a block's inline children) to `out`.
fn inline_text(node: &Value, out: &mut String) {
    let attr = |name: &str| {
        node.pointer(&format!("/attrs/{name}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match node_type(node) {
        "text" => out.push_str(node.get("text").and_then(Value::as_str).unwrap_or_default()),
        "hardBreak" => out.push('\n'),
        "mention" => {
            let text = attr("text");
            if text.is_empty() {
                out.push('@');
                out.push_str(&attr("id"));
            } else {
                out.push_str(&text);
            }
        }
        "emoji" => {
            let text = attr("text");
            out.push_str(
                if text.is_empty() {
                    attr("shortName")
                } else {
                    text
                }
                .as_str(),
            );
        }
        "inlineCard" => out.push_str(&attr("url")),
        _ => {
            for child in children(node) {
                inline_text(child, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_becomes_paragraphs_and_hard_breaks() {
        let doc = from_plain_text("Hello\r\nworld\n\n\nSecond  paragraph\n");
        assert_eq!(
            doc,
            json!({"type": "doc", "version": 1, "content": [
                {"type": "paragraph", "content": [
                    {"type": "text", "text": "Hello"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "world"}]},
                {"type": "paragraph", "content": [
                    {"type": "text", "text": "Second  paragraph"}]}]})
        );
        assert_eq!(
            from_plain_text(" \n\n"),
            json!({"type": "doc", "version": 1, "content": []})
        );
    }

    #[test]
    fn text_round_trips_through_adf() {
        for text in ["one line", "a\nb\n\nc", "x\n\ny\nz\n\nw", ""] {
            assert_eq!(to_plain_text(&from_plain_text(text)), text);
        }
    }

    #[test]
    fn rich_adf_reads_as_text() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Title"}]},
            {"type": "paragraph", "content": [
                {"type": "text", "text": "Hello "},
                {"type": "text", "text": "bold", "marks": [{"type": "strong"}]},
                {"type": "hardBreak"},
                {"type": "mention", "attrs": {"id": "abc", "text": "@Ann"}},
                {"type": "text", "text": " see "},
                {"type": "inlineCard", "attrs": {"url": "https://example.com"}}]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "two"}]}]}]},
            {"type": "codeBlock", "attrs": {"language": "rust"}, "content": [{"type": "text", "text": "fn main() {}"}]},
            {"type": "rule"}]});
        assert_eq!(
            to_plain_text(&doc),
            "Title\n\nHello bold\n@Ann see https://example.com\n\n- one\n- two\n\nfn main() {}\n\n---"
        );
        assert_eq!(to_plain_text(&Value::Null), "");
    }
}
