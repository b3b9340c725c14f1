//! ADF → block model → HTML: reads any ADF leniently (nodes outside the subset give their
//! text) and writes HTML that reads back to the same blocks.

use super::{canonical, item_blocks, push_text, quote_blocks, Block, Inline, Mark};
use serde_json::Value;

pub(super) fn children(node: &Value) -> &[Value] {
    node.get("content")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

pub(super) fn node_type(node: &Value) -> &str {
    node.get("type").and_then(Value::as_str).unwrap_or_default()
}

fn is_inline(node: &Value) -> bool {
    matches!(
        node_type(node),
        "text" | "hardBreak" | "mention" | "emoji" | "inlineCard" | "date" | "status"
    )
}

/// Reads block nodes; inline nodes met at block level are gathered into paragraphs and
/// containers outside the subset (panels, tables, expands...) give their children.
pub(super) fn read_blocks(nodes: &[Value], out: &mut Vec<Block>) {
    let mut loose: Vec<Value> = Vec::new();
    let flush_loose = |loose: &mut Vec<Value>, out: &mut Vec<Block>| {
        if !loose.is_empty() {
            out.push(Block::Paragraph(read_inlines(loose)));
            loose.clear();
        }
    };
    for node in nodes {
        if is_inline(node) {
            loose.push(node.clone());
            continue;
        }
        flush_loose(&mut loose, out);
        match node_type(node) {
            "paragraph" => out.push(Block::Paragraph(read_inlines(children(node)))),
            "heading" => {
                let level = node
                    .pointer("/attrs/level")
                    .and_then(Value::as_u64)
                    .unwrap_or(1)
                    .clamp(1, 6);
                let level = u8::try_from(level).unwrap_or(1);
                out.push(Block::Heading(level, read_inlines(children(node))));
            }
            kind @ ("bulletList" | "orderedList") => {
                let items = children(node)
                    .iter()
                    .map(|item| {
                        let mut blocks = Vec::new();
                        if node_type(item) == "listItem" {
                            read_blocks(children(item), &mut blocks);
                        } else {
                            read_blocks(std::slice::from_ref(item), &mut blocks);
                        }
                        item_blocks(blocks)
                    })
                    .collect::<Vec<_>>();
                if !items.is_empty() {
                    out.push(Block::List {
                        ordered: kind == "orderedList",
                        start: node
                            .pointer("/attrs/order")
                            .and_then(Value::as_u64)
                            .unwrap_or(1),
                        items,
                    });
                }
            }
            "blockquote" => {
                let mut blocks = Vec::new();
                read_blocks(children(node), &mut blocks);
                if !blocks.is_empty() {
                    out.push(Block::Quote(quote_blocks(blocks)));
                }
            }
            "codeBlock" => out.push(Block::Code {
                language: node
                    .pointer("/attrs/language")
                    .and_then(Value::as_str)
                    .filter(|language| !language.is_empty())
                    .map(str::to_owned),
                text: children(node)
                    .iter()
                    .filter_map(|child| child.get("text").and_then(Value::as_str))
                    .collect(),
            }),
            "rule" => out.push(Block::Rule),
            _ => read_blocks(children(node), out),
        }
    }
    flush_loose(&mut loose, out);
}

/// Reads inline nodes: text with its marks, breaks, and the text of mentions, emoji, cards,
/// dates and status lozenges.
fn read_inlines(nodes: &[Value]) -> Vec<Inline> {
    let mut out = Vec::new();
    for node in nodes {
        let attr = |name: &str| {
            node.pointer(&format!("/attrs/{name}"))
                .and_then(Value::as_str)
                .filter(|text| !text.is_empty())
        };
        match node_type(node) {
            "text" => {
                let marks = node
                    .get("marks")
                    .and_then(Value::as_array)
                    .map(|marks| canonical(marks.iter().filter_map(Mark::from_json)))
                    .unwrap_or_default();
                let text = node.get("text").and_then(Value::as_str).unwrap_or_default();
                push_text(&mut out, text, &marks);
            }
            "hardBreak" => out.push(Inline::Break),
            "mention" => {
                let text = attr("text")
                    .map(str::to_owned)
                    .or_else(|| attr("id").map(|id| format!("@{id}")));
                push_text(&mut out, &text.unwrap_or_default(), &[]);
            }
            "emoji" => push_text(
                &mut out,
                attr("text")
                    .or_else(|| attr("shortName"))
                    .unwrap_or_default(),
                &[],
            ),
            "inlineCard" => {
                let url = attr("url").unwrap_or_default();
                push_text(&mut out, url, &[Mark::Link(url.to_owned())]);
            }
            "date" => {
                let text = attr("timestamp")
                    .and_then(|millis| millis.parse::<i64>().ok())
                    .and_then(|millis| jiff::Timestamp::from_millisecond(millis).ok())
                    .map(|at| at.to_zoned(jiff::tz::TimeZone::UTC).date().to_string());
                push_text(&mut out, &text.unwrap_or_default(), &[]);
            }
            "status" => push_text(&mut out, attr("text").unwrap_or_default(), &[]),
            _ => out.extend(read_inlines(children(node))),
        }
    }
    // Merging across the nested reads above keeps the content in normal form.
    let mut merged = Vec::with_capacity(out.len());
    for inline in out {
        match inline {
            Inline::Text { text, marks } => push_text(&mut merged, &text, &marks),
            Inline::Break => merged.push(Inline::Break),
        }
    }
    merged
}

pub(super) fn render_blocks(blocks: &[Block], out: &mut String) {
    for block in blocks {
        match block {
            Block::Paragraph(inlines) => {
                out.push_str("<p>");
                render_inlines(inlines, out);
                out.push_str("</p>");
            }
            Block::Heading(level, inlines) => {
                out.push_str(&format!("<h{level}>"));
                render_inlines(inlines, out);
                out.push_str(&format!("</h{level}>"));
            }
            Block::List {
                ordered,
                start,
                items,
            } => {
                let tag = if *ordered { "ol" } else { "ul" };
                if *ordered && *start != 1 {
                    out.push_str(&format!("<ol start=\"{start}\">"));
                } else {
                    out.push_str(&format!("<{tag}>"));
                }
                for item in items {
                    out.push_str("<li>");
                    render_item(item, out);
                    out.push_str("</li>");
                }
                out.push_str(&format!("</{tag}>"));
            }
            Block::Quote(blocks) => {
                out.push_str("<blockquote>");
                render_blocks(blocks, out);
                out.push_str("</blockquote>");
            }
            Block::Code { language, text } => {
                match language {
                    Some(language) => out.push_str(&format!(
                        "<pre><code class=\"language-{}\">",
                        escape_attr(language)
                    )),
                    None => out.push_str("<pre><code>"),
                }
                // A parser drops one newline right after `<pre>`; a leading one needs a spare.
                if text.starts_with('\n') {
                    out.push('\n');
                }
                out.push_str(&escape_text(text));
                out.push_str("</code></pre>");
            }
            Block::Rule => out.push_str("<hr>"),
        }
    }
}

/// A list item as Dynamics' editor writes it: the first paragraph's text right in the `<li>`.
fn render_item(blocks: &[Block], out: &mut String) {
    match blocks.split_first() {
        // An empty first paragraph followed by another one needs its own `<p>` to survive.
        Some((Block::Paragraph(inlines), rest))
            if !(inlines.is_empty() && matches!(rest.first(), Some(Block::Paragraph(_)))) =>
        {
            render_inlines(inlines, out);
            render_blocks(rest, out);
        }
        _ => render_blocks(blocks, out),
    }
}

/// Renders inline content, opening and closing mark tags only where marks change, and writing
/// `&nbsp;` for every space a browser would collapse or drop.
fn render_inlines(inlines: &[Inline], out: &mut String) {
    #[derive(PartialEq)]
    enum Prev {
        LineStart,
        RawSpace,
        Other,
    }
    let mut open: Vec<&Mark> = Vec::new();
    let mut prev = Prev::LineStart;
    for (idx, inline) in inlines.iter().enumerate() {
        let (text, marks) = match inline {
            Inline::Break => {
                // Marks the next text does not continue close before the break, so a break
                // never sits at the end of a link or of bold text.
                let keep = match inlines.get(idx + 1) {
                    Some(Inline::Text { marks, .. }) => open
                        .iter()
                        .zip(marks)
                        .take_while(|(open, mark)| **open == *mark)
                        .count(),
                    _ => 0,
                };
                while open.len() > keep {
                    if let Some(mark) = open.pop() {
                        out.push_str(&format!("</{}>", mark.tag()));
                    }
                }
                out.push_str("<br>");
                prev = Prev::LineStart;
                continue;
            }
            Inline::Text { text, marks } => (text, marks),
        };
        let common = open
            .iter()
            .zip(marks)
            .take_while(|(open, mark)| **open == *mark)
            .count();
        while open.len() > common {
            if let Some(mark) = open.pop() {
                out.push_str(&format!("</{}>", mark.tag()));
            }
        }
        for mark in &marks[common..] {
            out.push_str(&mark.open_tag());
            open.push(mark);
        }
        let next_first = match inlines.get(idx + 1) {
            Some(Inline::Text { text, .. }) => text.chars().next(),
            _ => None,
        };
        let mut chars = text.chars().peekable();
        while let Some(ch) = chars.next() {
            let has_next = chars.peek().is_some() || next_first.is_some();
            match ch {
                ' ' if prev == Prev::Other && has_next => {
                    out.push(' ');
                    prev = Prev::RawSpace;
                    continue;
                }
                ' ' => out.push_str("&nbsp;"),
                '\t' | '\n' | '\r' | '\u{c}' => out.push_str(&format!("&#{};", u32::from(ch))),
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                other => out.push(other),
            }
            prev = Prev::Other;
        }
    }
    while let Some(mark) = open.pop() {
        out.push_str(&format!("</{}>", mark.tag()));
    }
    // A browser shows no line for a break that ends a block; a second one keeps it.
    if matches!(inlines.last(), Some(Inline::Break)) {
        out.push_str("<br>");
    }
}

fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub(super) fn escape_attr(text: &str) -> String {
    escape_text(text).replace('"', "&quot;")
}
