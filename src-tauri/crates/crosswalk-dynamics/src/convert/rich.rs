//! Rich text between Dataverse and Jira: the HTML of Dynamics' rich-text editor (or plain text)
//! to the Atlassian Document Format (api/atlassian.md §B.9), and back.
//!
//! Both directions go through one small block model, so they agree on the supported subset:
//! paragraphs, headings, line breaks (`<br>` ↔ `hardBreak`), bold, italic, underline, strike,
//! inline code, sub/superscript, links, bullet and ordered lists (nested), block quotes, code
//! blocks and rules. For documents of that subset in normal form (adjacent text nodes with
//! equal marks merged, marks in the order link, strong, em, underline, strike, code, subsup,
//! no empty text nodes) `html_to_adf(&adf_to_html(doc)) == doc`. Anything else keeps its text.
//!
//! Whitespace: raw ASCII whitespace collapses the way a browser shows it, while text written
//! as a character reference is kept as is (`&nbsp;` and `&#160;` become an ordinary, kept
//! space). [`adf_to_html`] writes `&nbsp;` wherever a space would otherwise collapse, so
//! spaces survive the trip both ways. Empty text nodes are never produced (Jira rejects them).

mod parse;
mod render;
mod tokenize;

use serde_json::{json, Map, Value};

/// Whether `text` is HTML (it holds a tag Dynamics' editor writes) rather than plain text.
pub fn looks_like_html(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(idx, byte)| {
        if *byte != b'<' {
            return false;
        }
        let rest = &text[idx + 1..];
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        let name_len = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
        let after = rest.as_bytes().get(name_len).copied();
        name_len > 0
            && matches!(after, Some(b'>' | b'/' | b' ' | b'\t' | b'\n' | b'\r'))
            && KNOWN_TAGS.contains(&rest[..name_len].to_ascii_lowercase().as_str())
    })
}

/// Tags that make a text HTML for [`looks_like_html`].
const KNOWN_TAGS: &[&str] = &[
    "a",
    "b",
    "blockquote",
    "body",
    "br",
    "code",
    "del",
    "div",
    "em",
    "font",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "html",
    "i",
    "img",
    "ins",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strike",
    "strong",
    "sub",
    "sup",
    "table",
    "td",
    "tr",
    "u",
    "ul",
];

/// The ADF document of a Dataverse text column: HTML is converted, plain text split into
/// paragraphs and line breaks by `crosswalk_jira::adf`.
pub fn dataverse_text_to_adf(text: &str) -> Value {
    if looks_like_html(text) {
        html_to_adf(text)
    } else {
        crosswalk_jira::adf::from_plain_text(text)
    }
}

/// The Dataverse text of an ADF document: HTML for a rich-text column, else plain text.
pub fn adf_to_dataverse_text(doc: &Value, rich: bool) -> String {
    if rich {
        adf_to_html(doc)
    } else {
        crosswalk_jira::adf::to_plain_text(doc)
    }
}

/// The ADF document of an HTML fragment, read tolerantly the way a browser would show it.
pub fn html_to_adf(html: &str) -> Value {
    doc_json(&parse::parse(html))
}

/// The HTML of an ADF document (text escaped; nodes outside the subset rendered as text).
pub fn adf_to_html(doc: &Value) -> String {
    let mut blocks = Vec::new();
    render::read_blocks(render::children(doc), &mut blocks);
    let mut out = String::new();
    render::render_blocks(&blocks, &mut out);
    out
}

/// The normal form of an ADF document: what Jira would show of it, in the shape
/// [`html_to_adf`] produces (used to compare documents, not to write them).
pub fn normalize(doc: &Value) -> Value {
    html_to_adf(&adf_to_html(doc))
}

// ---------------------------------------------------------------------------------------------
// The block model shared by both directions.

/// A text mark; [`Mark::rank`] gives the canonical order of marks in a text node.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mark {
    Link(String),
    Strong,
    Em,
    Underline,
    Strike,
    Code,
    Sub,
    Sup,
}

impl Mark {
    /// Marks of one kind exclude each other (`subsup` is one mark with two flavours).
    fn rank(&self) -> u8 {
        match self {
            Mark::Link(_) => 0,
            Mark::Strong => 1,
            Mark::Em => 2,
            Mark::Underline => 3,
            Mark::Strike => 4,
            Mark::Code => 5,
            Mark::Sub | Mark::Sup => 6,
        }
    }

    fn from_json(mark: &Value) -> Option<Mark> {
        Some(match mark.get("type").and_then(Value::as_str)? {
            "link" => Mark::Link(
                mark.pointer("/attrs/href")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            ),
            "strong" => Mark::Strong,
            "em" => Mark::Em,
            "underline" => Mark::Underline,
            "strike" => Mark::Strike,
            "code" => Mark::Code,
            "subsup" => match mark.pointer("/attrs/type").and_then(Value::as_str) {
                Some("sup") => Mark::Sup,
                _ => Mark::Sub,
            },
            _ => return None,
        })
    }

    fn to_json(&self) -> Value {
        match self {
            Mark::Link(href) => json!({"type": "link", "attrs": {"href": href}}),
            Mark::Strong => json!({"type": "strong"}),
            Mark::Em => json!({"type": "em"}),
            Mark::Underline => json!({"type": "underline"}),
            Mark::Strike => json!({"type": "strike"}),
            Mark::Code => json!({"type": "code"}),
            Mark::Sub => json!({"type": "subsup", "attrs": {"type": "sub"}}),
            Mark::Sup => json!({"type": "subsup", "attrs": {"type": "sup"}}),
        }
    }

    fn open_tag(&self) -> String {
        match self {
            Mark::Link(href) => format!("<a href=\"{}\">", render::escape_attr(href)),
            other => format!("<{}>", other.tag()),
        }
    }

    fn tag(&self) -> &'static str {
        match self {
            Mark::Link(_) => "a",
            Mark::Strong => "strong",
            Mark::Em => "em",
            Mark::Underline => "u",
            Mark::Strike => "s",
            Mark::Code => "code",
            Mark::Sub => "sub",
            Mark::Sup => "sup",
        }
    }
}

/// Marks in canonical order, one per rank (the innermost of a rank wins).
fn canonical(marks: impl IntoIterator<Item = Mark>) -> Vec<Mark> {
    let mut out: Vec<Mark> = Vec::new();
    for mark in marks {
        out.retain(|m| m.rank() != mark.rank());
        out.push(mark);
    }
    out.sort_by_key(Mark::rank);
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Inline {
    Text { text: String, marks: Vec<Mark> },
    Break,
}

#[derive(Debug, Clone, PartialEq)]
enum Block {
    Paragraph(Vec<Inline>),
    Heading(u8, Vec<Inline>),
    List {
        ordered: bool,
        start: u64,
        items: Vec<Vec<Block>>,
    },
    Quote(Vec<Block>),
    Code {
        language: Option<String>,
        text: String,
    },
    Rule,
}

/// Appends text to inline content, merging with the previous text of equal marks.
fn push_text(inlines: &mut Vec<Inline>, text: &str, marks: &[Mark]) {
    if text.is_empty() {
        return;
    }
    if let Some(Inline::Text {
        text: last,
        marks: last_marks,
    }) = inlines.last_mut()
    {
        if last_marks == marks {
            last.push_str(text);
            return;
        }
    }
    inlines.push(Inline::Text {
        text: text.to_owned(),
        marks: marks.to_vec(),
    });
}

fn doc_json(blocks: &[Block]) -> Value {
    json!({"type": "doc", "version": 1, "content": blocks.iter().map(block_json).collect::<Vec<_>>()})
}

fn block_json(block: &Block) -> Value {
    match block {
        Block::Paragraph(inlines) => json!({"type": "paragraph", "content": inlines_json(inlines)}),
        Block::Heading(level, inlines) => json!({
            "type": "heading", "attrs": {"level": level}, "content": inlines_json(inlines)
        }),
        Block::List {
            ordered,
            start,
            items,
        } => {
            let mut node = Map::new();
            node.insert(
                "type".into(),
                json!(if *ordered {
                    "orderedList"
                } else {
                    "bulletList"
                }),
            );
            if *ordered && *start != 1 {
                node.insert("attrs".into(), json!({ "order": start }));
            }
            let items: Vec<Value> = items
                .iter()
                .map(|item| {
                    json!({"type": "listItem", "content": item.iter().map(block_json).collect::<Vec<_>>()})
                })
                .collect();
            node.insert("content".into(), Value::Array(items));
            Value::Object(node)
        }
        Block::Quote(blocks) => json!({
            "type": "blockquote", "content": blocks.iter().map(block_json).collect::<Vec<_>>()
        }),
        Block::Code { language, text } => {
            let mut node = Map::new();
            node.insert("type".into(), json!("codeBlock"));
            if let Some(language) = language {
                node.insert("attrs".into(), json!({ "language": language }));
            }
            let content = if text.is_empty() {
                Vec::new()
            } else {
                vec![json!({"type": "text", "text": text})]
            };
            node.insert("content".into(), Value::Array(content));
            Value::Object(node)
        }
        Block::Rule => json!({"type": "rule"}),
    }
}

fn inlines_json(inlines: &[Inline]) -> Vec<Value> {
    inlines
        .iter()
        .map(|inline| match inline {
            Inline::Break => json!({"type": "hardBreak"}),
            Inline::Text { text, marks } if marks.is_empty() => json!({"type": "text", "text": text}),
            Inline::Text { text, marks } => json!({
                "type": "text", "text": text, "marks": marks.iter().map(Mark::to_json).collect::<Vec<_>>()
            }),
        })
        .collect()
}

/// A list item's blocks as ADF allows them: a paragraph first, no headings, quotes or rules.
fn item_blocks(blocks: Vec<Block>) -> Vec<Block> {
    let mut out = Vec::with_capacity(blocks.len() + 1);
    for block in blocks {
        match block {
            Block::Heading(_, inlines) => out.push(Block::Paragraph(inlines)),
            Block::Quote(inner) => out.extend(item_blocks(inner)),
            Block::Rule => {}
            other => out.push(other),
        }
    }
    if !matches!(out.first(), Some(Block::Paragraph(_))) {
        out.insert(0, Block::Paragraph(Vec::new()));
    }
    out
}

/// A quote's blocks as ADF allows them: no headings, nested quotes or rules.
fn quote_blocks(blocks: Vec<Block>) -> Vec<Block> {
    let mut out = Vec::with_capacity(blocks.len());
    for block in blocks {
        match block {
            Block::Heading(_, inlines) => out.push(Block::Paragraph(inlines)),
            Block::Quote(inner) => out.extend(quote_blocks(inner)),
            Block::Rule => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::render::{children, node_type};
    use super::*;

    fn text(text: &str) -> Value {
        json!({"type": "text", "text": text})
    }

    fn marked(text: &str, marks: &[Value]) -> Value {
        json!({"type": "text", "text": text, "marks": marks})
    }

    fn para(content: &[Value]) -> Value {
        json!({"type": "paragraph", "content": content})
    }

    fn doc(content: &[Value]) -> Value {
        json!({"type": "doc", "version": 1, "content": content})
    }

    fn item(content: &[Value]) -> Value {
        json!({"type": "listItem", "content": content})
    }

    fn strong() -> Value {
        json!({"type": "strong"})
    }

    fn em() -> Value {
        json!({"type": "em"})
    }

    fn link(href: &str) -> Value {
        json!({"type": "link", "attrs": {"href": href}})
    }

    fn br() -> Value {
        json!({"type": "hardBreak"})
    }

    /// Every text node in `node` (recursively) is non-empty.
    fn assert_no_empty_text(node: &Value) {
        if node_type(node) == "text" {
            let text = node.get("text").and_then(Value::as_str).unwrap_or_default();
            assert!(!text.is_empty(), "empty text node in {node}");
        }
        for child in children(node) {
            assert_no_empty_text(child);
        }
    }

    /// Documents of the supported subset, in normal form.
    fn subset_docs() -> Vec<Value> {
        vec![
            doc(&[]),
            doc(&[para(&[text("Hello world")])]),
            doc(&[para(&[])]),
            doc(&[para(&[text("a")]), para(&[]), para(&[text("b")])]),
            doc(&[para(&[
                text("Hello "),
                marked("bold", &[strong()]),
                text(" and "),
                marked("both", &[strong(), em()]),
                br(),
                marked("link", &[link("https://example.com/?a=1&b=\"2\"")]),
                text(" after"),
            ])]),
            doc(&[para(&[
                marked("u", &[json!({"type": "underline"})]),
                marked("s", &[json!({"type": "strike"})]),
                marked("c", &[json!({"type": "code"})]),
                text("H"),
                marked("2", &[json!({"type": "subsup", "attrs": {"type": "sub"}})]),
                text("O x"),
                marked("2", &[json!({"type": "subsup", "attrs": {"type": "sup"}})]),
            ])]),
            doc(&[para(&[marked(
                "bold link",
                &[link("https://example.com"), strong()],
            )])]),
            doc(&[para(&[
                text("  leading, double  spaces, trailing "),
                br(),
                text(" after break\ttab & <tags> \u{a0}nbsp"),
            ])]),
            doc(&[para(&[text("ends with a break"), br()])]),
            doc(&[para(&[br(), text("starts with a break")])]),
            doc(&[para(&[marked("bold ", &[strong()]), text("plain")])]),
            doc(&[
                json!({"type": "heading", "attrs": {"level": 2}, "content": [text("Title")]}),
                para(&[text("Body")]),
            ]),
            doc(&[json!({"type": "bulletList", "content": [
                item(&[para(&[text("one")])]),
                item(&[para(&[text("two "), marked("bold", &[strong()])])]),
            ]})]),
            doc(&[json!({"type": "orderedList", "content": [
                item(&[para(&[text("first")]), json!({"type": "bulletList", "content": [
                    item(&[para(&[text("nested")])]),
                ]})]),
                item(&[para(&[])]),
                item(&[para(&[]), para(&[text("second paragraph")])]),
                item(&[para(&[text("a")]), para(&[text("b")])]),
            ]})]),
            doc(&[
                json!({"type": "orderedList", "attrs": {"order": 3}, "content": [
                    item(&[para(&[text("third")])]),
                ]}),
            ]),
            doc(&[json!({"type": "bulletList", "content": [
                item(&[para(&[]), json!({"type": "bulletList", "content": [item(&[para(&[text("deep")])])]})]),
            ]})]),
            doc(&[
                json!({"type": "blockquote", "content": [para(&[text("quoted")]), para(&[text("more")])]}),
            ]),
            doc(&[
                json!({"type": "codeBlock", "content": [text("fn main() {\n    let a = 1 < 2 && true;\n}")]}),
                json!({"type": "codeBlock", "attrs": {"language": "rust"}, "content": [text("\n  indented\n")]}),
                json!({"type": "codeBlock", "content": []}),
            ]),
            doc(&[
                para(&[text("above")]),
                json!({"type": "rule"}),
                para(&[text("below")]),
            ]),
        ]
    }

    #[test]
    fn supported_documents_round_trip_through_html() {
        for original in subset_docs() {
            let html = adf_to_html(&original);
            assert_eq!(html_to_adf(&html), original, "through {html}");
            assert_eq!(normalize(&original), original);
        }
    }

    /// Generated documents: tricky texts × mark sets × neighbours × block kinds.
    #[test]
    fn generated_documents_round_trip_through_html() {
        let texts = [
            "plain",
            " lead",
            "trail ",
            "two  spaces",
            "\ttab",
            "&<>\"'",
            "\u{a0}nb",
            "  ",
            "x\ny",
        ];
        let mark_sets: Vec<Vec<Value>> = vec![
            vec![],
            vec![strong()],
            vec![em()],
            vec![link("https://a.test/x?y=1&z=2"), strong(), em()],
            vec![json!({"type": "underline"}), json!({"type": "strike"})],
            vec![json!({"type": "code"})],
        ];
        let wrappers: [fn(Vec<Value>) -> Value; 4] = [
            |inline| para(&inline),
            |inline| json!({"type": "heading", "attrs": {"level": 3}, "content": inline}),
            |inline| json!({"type": "bulletList", "content": [item(&[para(&inline)])]}),
            |inline| json!({"type": "blockquote", "content": [para(&inline)]}),
        ];
        let mut count = 0;
        for (text_idx, first) in texts.iter().enumerate() {
            let second = texts[(text_idx + 3) % texts.len()];
            for (marks_idx, first_marks) in mark_sets.iter().enumerate() {
                let second_marks = &mark_sets[(marks_idx + 1) % mark_sets.len()];
                for wrap in wrappers {
                    let node = |text: &str, marks: &[Value]| {
                        if marks.is_empty() {
                            json!({"type": "text", "text": text})
                        } else {
                            marked(text, marks)
                        }
                    };
                    for inline in [
                        vec![node(first, first_marks), node(second, second_marks)],
                        vec![node(second, second_marks), br(), node(first, first_marks)],
                        vec![node("a", &[]), node(first, first_marks), node("b", &[])],
                    ] {
                        // Whitespace-only lines are not in the subset: a browser shows nothing.
                        let visible = inline.iter().any(|node| {
                            node.get("text")
                                .and_then(Value::as_str)
                                .is_some_and(|text| !text.trim().is_empty())
                        });
                        let normal = inline.windows(2).all(|pair| {
                            pair[0].get("marks") != pair[1].get("marks")
                                || pair[0]["type"] != pair[1]["type"]
                        });
                        if !visible || !normal {
                            continue;
                        }
                        let original = doc(&[wrap(inline)]);
                        let html = adf_to_html(&original);
                        assert_eq!(html_to_adf(&html), original, "through {html}");
                        count += 1;
                    }
                }
            }
        }
        assert!(count > 500, "{count} documents");
    }

    #[test]
    fn html_round_trips_are_stable_for_editor_html() {
        for html in [
            "<div>Hello <b>world</b><br>line</div><ul><li>a</li></ul>",
            "<p>x&nbsp;&nbsp;y <i>z</i></p><ol><li><p>a</p><ul><li>b</li></ul></li></ol>",
            "<div><span style=\"font-weight:bold\">B</span> <span style='text-decoration: underline line-through'>U</span></div>",
        ] {
            let once = html_to_adf(html);
            assert_eq!(html_to_adf(&adf_to_html(&once)), once, "{html}");
        }
    }

    #[test]
    fn dynamics_editor_html_converts_sensibly() {
        let adf = html_to_adf("<div>Hello <b>world</b><br>line</div><ul><li>a</li></ul>");
        assert_eq!(
            adf,
            doc(&[
                para(&[
                    text("Hello "),
                    marked("world", &[strong()]),
                    br(),
                    text("line")
                ]),
                json!({"type": "bulletList", "content": [item(&[para(&[text("a")])])]}),
            ])
        );
        let wrapped = concat!(
            "<div data-wrapper=\"true\" style=\"font-size:9pt;font-family:'Segoe UI',sans-serif;\">",
            "<div>Line one</div><div>&nbsp;</div><div><br></div>",
            "<div>Line <span style=\"font-weight:bold\">two</span>",
            " <a href=\"https://contoso.com\" target=\"_blank\">site</a></div></div>"
        );
        assert_eq!(
            html_to_adf(wrapped),
            doc(&[
                para(&[text("Line one")]),
                para(&[]),
                para(&[]),
                para(&[
                    text("Line "),
                    marked("two", &[strong()]),
                    text(" "),
                    marked("site", &[link("https://contoso.com")]),
                ]),
            ])
        );
    }

    #[test]
    fn whitespace_collapses_like_a_browser() {
        assert_eq!(
            html_to_adf("\n  <p>  one \n\t two  <b> three </b> </p>\n <p>\n</p>"),
            doc(&[
                para(&[text("one two "), marked("three", &[strong()])]),
                para(&[]),
            ])
        );
        assert_eq!(
            html_to_adf("a <br> b"),
            doc(&[para(&[text("a"), br(), text("b")])])
        );
    }

    #[test]
    fn entities_are_decoded() {
        assert_eq!(
            html_to_adf(
                "<p>&amp; &lt;b&gt; &quot;q&quot; &#39;s&#39; &#x41;&#66; &copy; &bogus; &amp</p>"
            ),
            doc(&[para(&[text("& <b> \"q\" 's' AB © &bogus; &amp")])])
        );
        assert_eq!(
            html_to_adf("<p>a&nbsp;&nbsp;b&#160;c</p>"),
            doc(&[para(&[text("a  b c")])])
        );
        assert_eq!(
            html_to_adf("<a href=\"https://x.test/?a=1&amp;b=2\">x</a>"),
            doc(&[para(&[marked("x", &[link("https://x.test/?a=1&b=2")])])])
        );
    }

    #[test]
    fn unknown_tags_keep_their_text_and_hidden_ones_do_not() {
        assert_eq!(
            html_to_adf("<custom-tag>kept</custom-tag> <font color=red>red</font><script>alert(1)</script><style>p{}</style><!-- note --><img src=x alt=y>!"),
            doc(&[para(&[text("kept red!")])])
        );
        assert_eq!(
            html_to_adf("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>"),
            doc(&[para(&[text("a b")]), para(&[text("c")])])
        );
    }

    #[test]
    fn broken_html_is_read_tolerantly() {
        assert_eq!(
            html_to_adf("1 < 2 and <b>bold"),
            doc(&[para(&[text("1 < 2 and "), marked("bold", &[strong()])])])
        );
        assert_eq!(
            html_to_adf("<ul><li>a<li>b</ul>tail <i"),
            doc(&[
                json!({"type": "bulletList", "content": [item(&[para(&[text("a")])]), item(&[para(&[text("b")])])]}),
                para(&[text("tail <i")]),
            ])
        );
        assert_eq!(
            html_to_adf("<li>stray</li></ol></p>"),
            doc(&[json!({"type": "bulletList", "content": [item(&[para(&[text("stray")])])]})])
        );
        assert_eq!(
            html_to_adf("<pre>  keep\n  <b>this</b>&amp;</pre>"),
            doc(&[json!({"type": "codeBlock", "content": [text("  keep\n  this&")]})])
        );
    }

    #[test]
    fn headings_and_quotes_inside_lists_become_paragraphs() {
        assert_eq!(
            html_to_adf("<ul><li><h2>T</h2><blockquote>q</blockquote><hr></li></ul>"),
            doc(&[
                json!({"type": "bulletList", "content": [item(&[para(&[text("T")]), para(&[text("q")])])]})
            ])
        );
    }

    #[test]
    fn no_empty_text_nodes_are_produced() {
        for html in [
            "",
            "<p></p>",
            "<b></b>",
            "<p> <b> </b> </p>",
            "<ul><li></li></ul>",
            "<pre></pre>",
            "<a href=\"x\"></a>",
            "&nbsp;",
            "<div><br></div>",
        ] {
            assert_no_empty_text(&html_to_adf(html));
        }
        assert_no_empty_text(&dataverse_text_to_adf(" \n\n "));
    }

    #[test]
    fn adf_outside_the_subset_renders_as_text() {
        let adf = doc(&[
            json!({"type": "panel", "attrs": {"panelType": "info"}, "content": [para(&[text("in panel")])]}),
            para(&[
                json!({"type": "mention", "attrs": {"id": "abc", "text": "@Ann"}}),
                text(" "),
                json!({"type": "emoji", "attrs": {"shortName": ":smile:", "text": "😄"}}),
                text(" "),
                json!({"type": "inlineCard", "attrs": {"url": "https://x.test"}}),
                text(" "),
                json!({"type": "date", "attrs": {"timestamp": "1738281600000"}}),
                marked(
                    "red",
                    &[json!({"type": "textColor", "attrs": {"color": "#ff0000"}})],
                ),
            ]),
            json!({"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "1"}}]}),
        ]);
        assert_eq!(
            adf_to_html(&adf),
            "<p>in panel</p><p>@Ann 😄 <a href=\"https://x.test\">https://x.test</a> 2025-01-31red</p>"
        );
        assert_eq!(adf_to_html(&Value::Null), "");
    }

    #[test]
    fn html_output_escapes_text_and_attributes() {
        let adf = doc(&[para(&[
            marked("<script>", &[link("https://x.test/\"><script>")]),
            text(" & done"),
        ])]);
        assert_eq!(
            adf_to_html(&adf),
            "<p><a href=\"https://x.test/&quot;&gt;&lt;script&gt;\">&lt;script&gt;</a> &amp; done</p>"
        );
    }

    #[test]
    fn html_is_told_from_plain_text() {
        for html in [
            "<div>x</div>",
            "a<br>b",
            "<P>x",
            "<b>x</b>",
            "<a href=\"u\">x</a>",
            "x</span>",
        ] {
            assert!(looks_like_html(html), "{html}");
        }
        for plain in [
            "a < b",
            "x <y> z",
            "<3",
            "i <3 you",
            "email <ann@x.test>",
            "",
            "<>",
        ] {
            assert!(!looks_like_html(plain), "{plain}");
        }
    }

    #[test]
    fn dataverse_text_picks_html_or_plain() {
        assert_eq!(
            dataverse_text_to_adf("a\n\nb"),
            doc(&[para(&[text("a")]), para(&[text("b")])])
        );
        assert_eq!(
            dataverse_text_to_adf("<p>a</p><p>b</p>"),
            doc(&[para(&[text("a")]), para(&[text("b")])])
        );
        let rich = doc(&[para(&[text("a "), marked("b", &[strong()])])]);
        assert_eq!(
            adf_to_dataverse_text(&rich, true),
            "<p>a <strong>b</strong></p>"
        );
        assert_eq!(adf_to_dataverse_text(&rich, false), "a b");
    }
}
