//! A tolerant HTML tokenizer: tags with attributes, text with character references decoded,
//! comments, declarations and hidden elements (`script`, `style`...) skipped.

/// Decoded text: raw text collapses like a browser's whitespace; `literal` text came from
/// character references and is kept as written.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Piece {
    pub(super) text: String,
    pub(super) literal: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Start {
        name: String,
        attrs: Vec<(String, String)>,
        self_closing: bool,
    },
    End {
        name: String,
    },
    Text(Vec<Piece>),
}

/// Elements whose content is never shown (skipped with their content).
const HIDDEN: &[&str] = &["script", "style", "title", "head", "template", "noscript"];

pub(super) fn tokenize(html: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut pos = 0;
    let mut text_start = 0;
    while let Some(found) = html[pos..].find('<') {
        let at = pos + found;
        let rest = &html[at..];
        let skip = if rest.starts_with("<!--") {
            Some((rest.find("-->").map_or(rest.len(), |end| end + 3), None))
        } else if rest.starts_with("<!") || rest.starts_with("<?") {
            Some((rest.find('>').map_or(rest.len(), |end| end + 1), None))
        } else {
            parse_tag(rest).map(|(len, token)| (len, Some(token)))
        };
        let Some((mut len, token)) = skip else {
            pos = at + 1;
            continue;
        };
        push_text_token(&mut tokens, &html[text_start..at]);
        match token {
            // A hidden element is skipped through its end tag.
            Some(Token::Start {
                name,
                self_closing: false,
                ..
            }) if HIDDEN.contains(&name.as_str()) => {
                let lower = rest[len..].to_ascii_lowercase();
                let close = format!("</{name}");
                len += lower.find(&close).map_or(lower.len(), |end| {
                    end + lower[end..]
                        .find('>')
                        .map_or(lower.len() - end, |gt| gt + 1)
                });
            }
            Some(Token::Start { name, .. }) if HIDDEN.contains(&name.as_str()) => {}
            Some(token) => tokens.push(token),
            None => {}
        }
        pos = at + len;
        text_start = pos;
    }
    push_text_token(&mut tokens, &html[text_start..]);
    tokens
}

/// A start or end tag at the start of `rest` (which begins with `<`): its length and token.
/// `None` when it is not a tag (a literal `<`, or a tag cut off at the end of the input).
fn parse_tag(rest: &str) -> Option<(usize, Token)> {
    let bytes = rest.as_bytes();
    let end_tag = bytes.get(1) == Some(&b'/');
    let mut idx = if end_tag { 2 } else { 1 };
    if !bytes.get(idx).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    let name_start = idx;
    while idx < bytes.len()
        && (bytes[idx].is_ascii_alphanumeric() || matches!(bytes[idx], b'-' | b':'))
    {
        idx += 1;
    }
    let name = rest[name_start..idx].to_ascii_lowercase();
    let mut attrs = Vec::new();
    let mut self_closing = false;
    loop {
        while idx < bytes.len() && bytes[idx].is_ascii_whitespace() {
            idx += 1;
        }
        match bytes.get(idx)? {
            b'>' => {
                idx += 1;
                break;
            }
            b'/' => {
                self_closing = true;
                idx += 1;
            }
            _ => {
                self_closing = false;
                let attr_start = idx;
                while idx < bytes.len()
                    && !bytes[idx].is_ascii_whitespace()
                    && !matches!(bytes[idx], b'=' | b'>' | b'/')
                {
                    idx += 1;
                }
                let attr_name = rest[attr_start..idx].to_ascii_lowercase();
                if attr_name.is_empty() {
                    // A stray `=`: skip it.
                    idx += 1;
                    continue;
                }
                while idx < bytes.len() && bytes[idx].is_ascii_whitespace() {
                    idx += 1;
                }
                let mut value = String::new();
                if bytes.get(idx) == Some(&b'=') {
                    idx += 1;
                    while idx < bytes.len() && bytes[idx].is_ascii_whitespace() {
                        idx += 1;
                    }
                    match bytes.get(idx)? {
                        quote @ (b'"' | b'\'') => {
                            let value_start = idx + 1;
                            let len = rest[value_start..].find(char::from(*quote))?;
                            value = decode_attr(&rest[value_start..value_start + len]);
                            idx = value_start + len + 1;
                        }
                        _ => {
                            let value_start = idx;
                            while idx < bytes.len()
                                && !bytes[idx].is_ascii_whitespace()
                                && bytes[idx] != b'>'
                            {
                                idx += 1;
                            }
                            value = decode_attr(&rest[value_start..idx]);
                        }
                    }
                }
                attrs.push((attr_name, value));
            }
        }
    }
    let token = if end_tag {
        Token::End { name }
    } else {
        Token::Start {
            name,
            attrs,
            self_closing,
        }
    };
    Some((idx, token))
}

fn push_text_token(tokens: &mut Vec<Token>, raw: &str) {
    if !raw.is_empty() {
        tokens.push(Token::Text(decode_text(raw)));
    }
}

/// Splits text into raw and literal pieces, decoding character references.
fn decode_text(raw: &str) -> Vec<Piece> {
    let mut pieces: Vec<Piece> = Vec::new();
    let mut push = |text: &str, literal: bool| match pieces.last_mut() {
        Some(last) if last.literal == literal => last.text.push_str(text),
        _ => pieces.push(Piece {
            text: text.to_owned(),
            literal,
        }),
    };
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        push(&rest[..amp], false);
        match entity(&rest[amp..]) {
            Some((ch, len)) => {
                // A no-break space written as a reference is how editors keep a space; it
                // becomes an ordinary space that is never collapsed.
                let ch = if ch == '\u{a0}' { ' ' } else { ch };
                let mut buf = [0; 4];
                let text = ch.encode_utf8(&mut buf);
                push(text, ch.is_ascii_whitespace());
                rest = &rest[amp + len..];
            }
            None => {
                push("&", false);
                rest = &rest[amp + 1..];
            }
        }
    }
    push(rest, false);
    pieces.retain(|piece| !piece.text.is_empty());
    pieces
}

fn decode_attr(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        match entity(&rest[amp..]) {
            Some((ch, len)) => {
                out.push(ch);
                rest = &rest[amp + len..];
            }
            None => {
                out.push('&');
                rest = &rest[amp + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character of a reference at the start of `text` (`&amp;`, `&#39;`, `&#x27;`) and its
/// length; `None` for anything else, which then reads as a literal `&`.
fn entity(text: &str) -> Option<(char, usize)> {
    let body = text.get(1..)?;
    let semi = body
        .char_indices()
        .take(33)
        .find(|(_, ch)| *ch == ';')
        .map(|(idx, _)| idx)?;
    let name = &body[..semi];
    let ch = if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse::<u32>().ok()?,
        };
        char::from_u32(code)
            .filter(|ch| *ch != '\0')
            .unwrap_or('\u{fffd}')
    } else {
        named_entity(name)?
    };
    // `&`, the name, `;`.
    Some((ch, semi + 2))
}

fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "ensp" => '\u{2002}',
        "emsp" => '\u{2003}',
        "thinsp" => '\u{2009}',
        "shy" => '\u{ad}',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "bull" => '•',
        "middot" => '·',
        "euro" => '€',
        "pound" => '£',
        "yen" => '¥',
        "cent" => '¢',
        "sect" => '§',
        "para" => '¶',
        "deg" => '°',
        "plusmn" => '±',
        "times" => '×',
        "divide" => '÷',
        "frac12" => '½',
        "frac14" => '¼',
        "frac34" => '¾',
        _ => return None,
    })
}
