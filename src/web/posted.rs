//! Posted forms (`application/x-www-form-urlencoded`), decoded strictly. Decoders that replace
//! bad bytes with U+FFFD would store text nobody typed; a NUL byte is refused by PostgreSQL
//! deep inside a statement. Both are refused here, at the edge, with a sentence that says so.

use percent_encoding::percent_decode;

/// Why a posted form was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormProblem {
    /// A field's text is not UTF-8 (a page saved in another encoding, or a hand-made request).
    NotUtf8 { field: String },
    /// A field holds a NUL byte, which no text typed in a browser does.
    Nul { field: String },
}

impl FormProblem {
    /// What the person who posted is told, in Swedish.
    pub fn sentence(&self) -> String {
        match self {
            FormProblem::NotUtf8 { field } => format!(
                "Fältet ”{field}” var inte kodat som UTF-8, så det som skickades togs inte emot. Ladda om sidan och försök igen."
            ),
            FormProblem::Nul { field } => format!(
                "Fältet ”{field}” innehöll ett otillåtet tecken (NUL), så det som skickades togs inte emot. Ladda om sidan och försök igen."
            ),
        }
    }
}

/// The form's fields as (name, value) pairs, in order, a repeated name repeated.
pub fn pairs(body: &[u8]) -> Result<Vec<(String, String)>, FormProblem> {
    let mut out = Vec::new();
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let name = decode(name).map_err(|_| FormProblem::NotUtf8 { field: lossy(name) })?;
        let value = decode(value).map_err(|_| FormProblem::NotUtf8 { field: name.clone() })?;
        if name.contains('\0') || value.contains('\0') {
            return Err(FormProblem::Nul { field: name.replace('\0', "") });
        }
        out.push((name, value));
    }
    Ok(out)
}

fn decode(part: &[u8]) -> Result<String, std::string::FromUtf8Error> {
    let spaced: Vec<u8> = part.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
    String::from_utf8(percent_decode(&spaced).collect())
}

fn lossy(part: &[u8]) -> String {
    String::from_utf8_lossy(&percent_decode(part).collect::<Vec<u8>>()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_browsers_send_and_refuses_bad_bytes_and_nul() {
        let got = pairs(b"csrf=abc&q.miljo=vit_makt&q.miljo=islamism&text=Hej+d%C3%A5%0D%0Ahej&tom=&bara").unwrap();
        assert_eq!(
            got,
            [
                ("csrf".into(), "abc".into()),
                ("q.miljo".into(), "vit_makt".into()),
                ("q.miljo".into(), "islamism".into()),
                ("text".into(), "Hej då\r\nhej".into()),
                ("tom".into(), String::new()),
                ("bara".into(), String::new()),
            ]
        );
        assert_eq!(pairs(b"a=%E5sa"), Err(FormProblem::NotUtf8 { field: "a".into() }));
        assert_eq!(pairs(b"email=a%00b"), Err(FormProblem::Nul { field: "email".into() }));
        assert!(pairs(b"a=%E5").unwrap_err().sentence().contains("UTF-8"));
    }
}
