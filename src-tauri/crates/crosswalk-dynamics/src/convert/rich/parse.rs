//! Tokens → block model, the way a browser lays the HTML out: block elements start lines,
//! lists and quotes nest, inline elements add marks, whitespace collapses.

use super::tokenize::{tokenize, Piece, Token};
use super::{canonical, item_blocks, push_text, quote_blocks, Block, Inline, Mark};

/// Elements that never have content or an end tag.
const VOID: &[&str] = &[
    "area", "base", "col", "embed", "img", "input", "link", "meta", "param", "source", "track",
    "wbr",
];

/// Elements that start and end a block of text without adding structure.
const BLOCKISH: &[&str] = &[
    "address",
    "article",
    "aside",
    "body",
    "caption",
    "center",
    "dd",
    "details",
    "dialog",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "header",
    "html",
    "main",
    "nav",
    "section",
    "summary",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "tr",
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum LineKind {
    Paragraph,
    Heading(u8),
}

/// The paragraph or heading being filled, with the browser's whitespace state.
#[derive(Debug)]
struct Line {
    kind: LineKind,
    inlines: Vec<Inline>,
    /// A collapsed space waiting for the next character, with the marks it was written in.
    pending: Option<Vec<Mark>>,
    /// At the start of the block or right after a break, where raw whitespace is dropped.
    at_start: bool,
    /// Opened by a tag: kept as an empty paragraph when closed with nothing in it.
    keep_empty: bool,
}

#[derive(Debug)]
enum Frame {
    List {
        ordered: bool,
        start: u64,
        items: Vec<Vec<Block>>,
    },
    Item(Vec<Block>),
    Quote(Vec<Block>),
}

/// A code block being read (`<pre>`): text kept exactly.
#[derive(Debug)]
struct Pre {
    language: Option<String>,
    text: String,
}

#[derive(Debug, Default)]
struct Builder {
    root: Vec<Block>,
    frames: Vec<Frame>,
    line: Option<Line>,
    /// Open inline elements and the marks each adds.
    marks: Vec<(String, Vec<Mark>)>,
    pre: Option<Pre>,
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// `language-rust` (or `lang-rust`) in a class attribute.
fn language_of(attrs: &[(String, String)]) -> Option<String> {
    attr(attrs, "class")?
        .split_whitespace()
        .find_map(|class| {
            class
                .strip_prefix("language-")
                .or_else(|| class.strip_prefix("lang-"))
        })
        .filter(|language| !language.is_empty())
        .map(str::to_owned)
}

/// The marks an inline element adds: by tag, and by inline style (`font-weight: bold`...).
fn marks_of(name: &str, attrs: &[(String, String)]) -> Vec<Mark> {
    let mut marks = match name {
        "b" | "strong" => vec![Mark::Strong],
        "i" | "em" | "cite" | "dfn" | "var" => vec![Mark::Em],
        "u" | "ins" => vec![Mark::Underline],
        "s" | "strike" | "del" => vec![Mark::Strike],
        "code" | "tt" | "kbd" | "samp" => vec![Mark::Code],
        "sub" => vec![Mark::Sub],
        "sup" => vec![Mark::Sup],
        "a" => attr(attrs, "href")
            .map(str::trim)
            .filter(|href| !href.is_empty())
            .map(|href| vec![Mark::Link(href.to_owned())])
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    if let Some(style) = attr(attrs, "style") {
        for declaration in style.split(';') {
            let Some((property, value)) = declaration.split_once(':') else {
                continue;
            };
            let value = value.trim().to_ascii_lowercase();
            match property.trim().to_ascii_lowercase().as_str() {
                "font-weight"
                    if value.starts_with("bold")
                        || value.parse::<u32>().is_ok_and(|weight| weight >= 600) =>
                {
                    marks.push(Mark::Strong);
                }
                "font-style" if value == "italic" || value == "oblique" => marks.push(Mark::Em),
                "text-decoration" | "text-decoration-line" => {
                    if value.contains("underline") {
                        marks.push(Mark::Underline);
                    }
                    if value.contains("line-through") {
                        marks.push(Mark::Strike);
                    }
                }
                _ => {}
            }
        }
    }
    marks
}

impl Builder {
    fn token(&mut self, token: Token) {
        match token {
            Token::Text(pieces) => self.text(&pieces),
            Token::Start {
                name,
                attrs,
                self_closing,
            } => {
                self.start(&name, &attrs);
                if self_closing && !VOID.contains(&name.as_str()) && name != "br" && name != "hr" {
                    self.end(&name);
                }
            }
            Token::End { name } => self.end(&name),
        }
    }

    fn current_marks(&self) -> Vec<Mark> {
        canonical(
            self.marks
                .iter()
                .flat_map(|(_, marks)| marks.iter().cloned()),
        )
    }

    fn text(&mut self, pieces: &[Piece]) {
        if let Some(pre) = &mut self.pre {
            for piece in pieces {
                pre.text.push_str(&piece.text);
            }
            return;
        }
        let marks = self.current_marks();
        for piece in pieces {
            for ch in piece.text.chars() {
                if !piece.literal && ch.is_ascii_whitespace() {
                    if let Some(line) = &mut self.line {
                        if !line.at_start && line.pending.is_none() {
                            line.pending = Some(marks.clone());
                        }
                    }
                    continue;
                }
                let line = self.line_mut();
                if let Some(space_marks) = line.pending.take() {
                    push_text(&mut line.inlines, " ", &space_marks);
                }
                let mut buf = [0; 4];
                push_text(&mut line.inlines, ch.encode_utf8(&mut buf), &marks);
                line.at_start = false;
            }
        }
    }

    fn line_mut(&mut self) -> &mut Line {
        self.line.get_or_insert_with(|| Line {
            kind: LineKind::Paragraph,
            inlines: Vec::new(),
            pending: None,
            at_start: true,
            keep_empty: false,
        })
    }

    fn open_line(&mut self, kind: LineKind) {
        self.flush(false);
        self.line = Some(Line {
            kind,
            inlines: Vec::new(),
            pending: None,
            at_start: true,
            keep_empty: true,
        });
    }

    fn line_break(&mut self) {
        if let Some(pre) = &mut self.pre {
            pre.text.push('\n');
            return;
        }
        let line = self.line_mut();
        line.pending = None;
        line.inlines.push(Inline::Break);
        line.at_start = true;
    }

    /// Ends the current line. `closing` is true when its own end tag (or the end of an
    /// enclosing element) ends it, false when a nested block interrupts it: only a closed,
    /// tag-opened line is kept when empty.
    fn flush(&mut self, closing: bool) {
        let Some(mut line) = self.line.take() else {
            return;
        };
        if matches!(line.inlines.last(), Some(Inline::Break)) {
            line.inlines.pop();
        }
        let blank = line.inlines.iter().all(|inline| match inline {
            Inline::Text { text, .. } => text.chars().all(|ch| ch == ' '),
            Inline::Break => false,
        });
        if blank {
            if closing && line.keep_empty && line.kind == LineKind::Paragraph {
                self.push_block(Block::Paragraph(Vec::new()));
            }
            return;
        }
        let block = match line.kind {
            LineKind::Paragraph => Block::Paragraph(line.inlines),
            LineKind::Heading(level) => Block::Heading(level, line.inlines),
        };
        self.push_block(block);
    }

    fn push_block(&mut self, block: Block) {
        if matches!(self.frames.last(), Some(Frame::List { .. })) {
            self.frames.push(Frame::Item(Vec::new()));
        }
        match self.frames.last_mut() {
            Some(Frame::Item(blocks) | Frame::Quote(blocks)) => blocks.push(block),
            Some(Frame::List { .. }) => {}
            None => self.root.push(block),
        }
    }

    /// Closes the innermost frame and hands its block to the one around it.
    fn close_frame(&mut self) {
        let Some(frame) = self.frames.pop() else {
            return;
        };
        match frame {
            Frame::List {
                ordered,
                start,
                items,
            } => {
                if !items.is_empty() {
                    self.push_block(Block::List {
                        ordered,
                        start,
                        items,
                    });
                }
            }
            Frame::Item(blocks) => {
                let blocks = item_blocks(blocks);
                match self.frames.last_mut() {
                    Some(Frame::List { items, .. }) => items.push(blocks),
                    _ => {
                        for block in blocks {
                            self.push_block(block);
                        }
                    }
                }
            }
            Frame::Quote(blocks) => {
                if !blocks.is_empty() {
                    self.push_block(Block::Quote(quote_blocks(blocks)));
                }
            }
        }
    }

    /// Closes frames down to and including the innermost one `is_target` accepts, if any.
    fn close_to(&mut self, is_target: fn(&Frame) -> bool) {
        if let Some(idx) = self.frames.iter().rposition(is_target) {
            while self.frames.len() > idx {
                self.close_frame();
            }
        }
    }

    fn start(&mut self, name: &str, attrs: &[(String, String)]) {
        if self.pre.is_some() {
            if name == "br" {
                self.line_break();
            } else if let (Some(pre), "code") = (&mut self.pre, name) {
                if pre.language.is_none() {
                    pre.language = language_of(attrs);
                }
            }
            return;
        }
        match name {
            "br" => self.line_break(),
            "p" => self.open_line(LineKind::Paragraph),
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level = name[1..].parse().unwrap_or(1);
                self.open_line(LineKind::Heading(level));
            }
            "ul" | "ol" => {
                self.flush(false);
                let start = attr(attrs, "start")
                    .and_then(|start| start.trim().parse().ok())
                    .unwrap_or(1);
                self.frames.push(Frame::List {
                    ordered: name == "ol",
                    start,
                    items: Vec::new(),
                });
            }
            "li" => {
                self.flush(false);
                if matches!(self.frames.last(), Some(Frame::Item(_))) {
                    self.close_frame();
                }
                if !matches!(self.frames.last(), Some(Frame::List { .. })) {
                    self.frames.push(Frame::List {
                        ordered: false,
                        start: 1,
                        items: Vec::new(),
                    });
                }
                self.frames.push(Frame::Item(Vec::new()));
            }
            "blockquote" => {
                self.flush(false);
                self.frames.push(Frame::Quote(Vec::new()));
            }
            "pre" => {
                self.flush(false);
                self.pre = Some(Pre {
                    language: language_of(attrs),
                    text: String::new(),
                });
            }
            "hr" => {
                self.flush(false);
                self.push_block(Block::Rule);
            }
            _ if BLOCKISH.contains(&name) => self.open_line(LineKind::Paragraph),
            _ if VOID.contains(&name) => {}
            _ => {
                let marks = marks_of(name, attrs);
                self.marks.push((name.to_owned(), marks));
            }
        }
    }

    fn end(&mut self, name: &str) {
        if let Some(pre) = &self.pre {
            if name == "pre" {
                let text = pre.text.strip_prefix('\n').unwrap_or(&pre.text).to_owned();
                let language = pre.language.clone();
                self.pre = None;
                self.push_block(Block::Code { language, text });
            }
            return;
        }
        match name {
            "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => self.flush(true),
            "li" => {
                self.flush(true);
                self.close_to(|frame| matches!(frame, Frame::Item(_)));
            }
            "ul" | "ol" => {
                self.flush(true);
                self.close_to(|frame| matches!(frame, Frame::List { .. }));
            }
            "blockquote" => {
                self.flush(true);
                self.close_to(|frame| matches!(frame, Frame::Quote(_)));
            }
            "td" | "th" => {
                if let Some(idx) = self.marks.iter().rposition(|(open, _)| open == name) {
                    self.marks.truncate(idx);
                }
                // Cells of a row read as one line, separated by a space.
                self.text(&[Piece {
                    text: " ".into(),
                    literal: false,
                }]);
            }
            _ if BLOCKISH.contains(&name) => self.flush(true),
            _ => {
                if let Some(idx) = self.marks.iter().rposition(|(open, _)| open == name) {
                    self.marks.truncate(idx);
                }
            }
        }
    }

    fn finish(mut self) -> Vec<Block> {
        if self.pre.is_some() {
            self.end("pre");
        }
        self.flush(true);
        while !self.frames.is_empty() {
            self.close_frame();
        }
        self.root
    }
}

/// The blocks of an HTML fragment.
pub(super) fn parse(html: &str) -> Vec<Block> {
    let mut builder = Builder::default();
    for token in tokenize(html) {
        builder.token(token);
    }
    builder.finish()
}
