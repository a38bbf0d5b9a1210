//! Conditions that decide whether a question is shown, written in survey files as
//! small expressions: `observerat = ja`, `group = intern and anhoriga_antal >= 5`,
//! `anhoriga_miljo includes vit_makt`, `not (observerat = nej or group = extern)`.

use super::{Answer, Answers, RosterAttributes};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Compare { subject: Subject, op: Op, value: String },
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
}

/// What a comparison looks at: an earlier answer or a roster attribute of the recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Question(String),
    Group,
    Category,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Includes,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Includes => "includes",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

/// How deep parentheses and `not` may nest: the parser and the evaluator recurse once per
/// level, and a survey file must not be able to exhaust the server's stack.
pub const MAX_DEPTH: usize = 32;

/// How many comparisons one condition may hold: `and`/`or` chains nest too.
pub const MAX_COMPARISONS: usize = 200;

/// A syntax error with the character offset inside the expression where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub offset: usize,
    pub message: String,
}

impl Condition {
    pub fn parse(src: &str) -> Result<Condition, SyntaxError> {
        let tokens = tokenize(src)?;
        let mut p = Parser { tokens, pos: 0, end: src.chars().count(), depth: 0, comparisons: 0 };
        let c = p.or()?;
        match p.peek() {
            None => Ok(c),
            Some(t) => Err(SyntaxError {
                offset: t.offset,
                message: format!("unexpected `{}` after a complete condition", t.text),
            }),
        }
    }

    /// Every comparison in the condition, in order of writing.
    pub fn comparisons(&self) -> Vec<(&Subject, Op, &str)> {
        let mut out = Vec::new();
        self.walk(&mut |s, op, v| out.push((s, op, v)));
        out
    }

    /// The ids of the questions the condition looks at.
    pub fn questions(&self) -> Vec<&str> {
        self.comparisons()
            .into_iter()
            .filter_map(|(s, _, _)| match s {
                Subject::Question(q) => Some(q.as_str()),
                _ => None,
            })
            .collect()
    }

    fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Subject, Op, &'a str)) {
        match self {
            Condition::Compare { subject, op, value } => f(subject, *op, value),
            Condition::And(a, b) | Condition::Or(a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Condition::Not(a) => a.walk(f),
        }
    }

    /// Evaluates against the answers given so far. An unanswered question satisfies only `!=`.
    pub fn holds(&self, answers: &Answers, roster: &RosterAttributes) -> bool {
        match self {
            Condition::And(a, b) => a.holds(answers, roster) && b.holds(answers, roster),
            Condition::Or(a, b) => a.holds(answers, roster) || b.holds(answers, roster),
            Condition::Not(a) => !a.holds(answers, roster),
            Condition::Compare { subject, op, value } => {
                let attribute = match subject {
                    Subject::Group => Some(&roster.group),
                    Subject::Category => Some(&roster.category),
                    Subject::Question(_) => None,
                };
                if let Some(attr) = attribute {
                    return match op {
                        Op::Eq => attr == value,
                        Op::Ne => attr != value,
                        _ => false,
                    };
                }
                let Subject::Question(id) = subject else { unreachable!() };
                let answer = answers.get(id);
                let equal = match answer {
                    Some(Answer::One(a)) => a == value,
                    Some(Answer::Number(n)) => value.parse::<i64>().is_ok_and(|v| *n == v),
                    _ => false,
                };
                let number = match answer {
                    Some(Answer::Number(n)) => value.parse::<i64>().ok().map(|v| (*n, v)),
                    _ => None,
                };
                match op {
                    Op::Eq => equal,
                    Op::Ne => !equal,
                    Op::Includes => {
                        matches!(answer, Some(Answer::Many(v)) if v.iter().any(|c| c == value))
                    }
                    Op::Lt => number.is_some_and(|(n, v)| n < v),
                    Op::Le => number.is_some_and(|(n, v)| n <= v),
                    Op::Gt => number.is_some_and(|(n, v)| n > v),
                    Op::Ge => number.is_some_and(|(n, v)| n >= v),
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    text: String,
    offset: usize,
}

fn tokenize(src: &str) -> Result<Vec<Token>, SyntaxError> {
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_alphanumeric() || c == '_' || c == '-' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '-') {
                i += 1;
            }
        } else if matches!(c, '(' | ')' | '=') {
            i += 1;
        } else if matches!(c, '!' | '<' | '>') {
            i += 1;
            if i < chars.len() && chars[i] == '=' {
                i += 1;
            } else if c == '!' {
                return Err(SyntaxError { offset: start, message: "`!` must be followed by `=`".into() });
            }
        } else {
            return Err(SyntaxError { offset: start, message: format!("unexpected character `{c}`") });
        }
        tokens.push(Token { text: chars[start..i].iter().collect(), offset: start });
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end: usize,
    /// Open parentheses and `not`s around the current place.
    depth: usize,
    comparisons: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self, expected: &str) -> Result<Token, SyntaxError> {
        let t = self.tokens.get(self.pos).cloned().ok_or_else(|| SyntaxError {
            offset: self.end,
            message: format!("the condition ends where {expected} was expected"),
        })?;
        self.pos += 1;
        Ok(t)
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.peek().is_some_and(|t| t.text == word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Condition, SyntaxError> {
        let mut left = self.and()?;
        while self.eat("or") {
            left = Condition::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, SyntaxError> {
        let mut left = self.unary()?;
        while self.eat("and") {
            left = Condition::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    /// Steps into a parenthesis or a `not`, refusing to go deeper than `MAX_DEPTH`.
    fn deeper(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SyntaxError {
                offset: self.tokens[self.pos - 1].offset,
                message: format!("the condition is nested more than {MAX_DEPTH} levels deep; write it more simply"),
            });
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<Condition, SyntaxError> {
        if self.eat("not") {
            self.deeper()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Condition::Not(Box::new(inner)));
        }
        if self.eat("(") {
            self.deeper()?;
            let inner = self.or()?;
            self.depth -= 1;
            let close = self.next("`)`")?;
            if close.text != ")" {
                return Err(SyntaxError {
                    offset: close.offset,
                    message: format!("expected `)`, found `{}`", close.text),
                });
            }
            return Ok(inner);
        }
        let subject = self.next("a question id, `group` or `category`")?;
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            return Err(SyntaxError {
                offset: subject.offset,
                message: format!(
                    "the condition has more than {MAX_COMPARISONS} comparisons; split the question instead"
                ),
            });
        }
        if !is_word(&subject.text) || ["and", "or", "not"].contains(&subject.text.as_str()) {
            return Err(SyntaxError {
                offset: subject.offset,
                message: format!("expected a question id, `group` or `category`, found `{}`", subject.text),
            });
        }
        let op_token = self.next("a comparison (=, !=, <, <=, >, >=, includes)")?;
        let op = match op_token.text.as_str() {
            "=" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "includes" => Op::Includes,
            other => {
                return Err(SyntaxError {
                    offset: op_token.offset,
                    message: format!(
                        "expected a comparison (=, !=, <, <=, >, >=, includes) after `{}`, found `{other}`",
                        subject.text
                    ),
                });
            }
        };
        let value = self.next("a value")?;
        if !is_word(&value.text) || ["and", "or", "not"].contains(&value.text.as_str()) {
            return Err(SyntaxError {
                offset: value.offset,
                message: format!("expected a value, found `{}`", value.text),
            });
        }
        let subject = match subject.text.as_str() {
            "group" => Subject::Group,
            "category" => Subject::Category,
            id => Subject::Question(id.to_string()),
        };
        Ok(Condition::Compare { subject, op, value: value.text })
    }
}

fn is_word(s: &str) -> bool {
    s.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster(group: &str) -> RosterAttributes {
        RosterAttributes { group: group.into(), category: "skola".into() }
    }

    #[test]
    fn precedence_puts_and_before_or() {
        let c = Condition::parse("group = intern or observerat = ja and anhoriga = ja").unwrap();
        assert!(matches!(c, Condition::Or(_, _)));
        assert_eq!(c.questions(), vec!["observerat", "anhoriga"]);
    }

    #[test]
    fn evaluates_answers_and_roster() {
        let mut answers = Answers::new();
        answers.insert("observerat".into(), Answer::One("ja".into()));
        answers.insert("antal".into(), Answer::Number(7));
        answers.insert("miljo".into(), Answer::Many(vec!["vit_makt".into()]));
        let holds = |src: &str, g: &str| Condition::parse(src).unwrap().holds(&answers, &roster(g));
        assert!(holds("observerat = ja", "extern"));
        assert!(!holds("observerat = nej", "extern"));
        assert!(holds("group = intern", "intern"));
        assert!(!holds("group = intern", "extern"));
        assert!(holds("antal >= 7 and antal < 8", "intern"));
        assert!(holds("miljo includes vit_makt", "intern"));
        assert!(!holds("miljo includes autonoma", "intern"));
        assert!(holds("not (observerat = nej or group = extern)", "intern"));
        // An unanswered question is equal to nothing.
        assert!(!holds("anhoriga = ja", "intern"));
        assert!(holds("anhoriga != ja", "intern"));
    }

    #[test]
    fn deep_nesting_and_endless_conditions_are_refused_not_followed() {
        for depth in [3_000, 20_000] {
            let src = format!("{}a = b{}", "(".repeat(depth), ")".repeat(depth));
            let e = Condition::parse(&src).unwrap_err();
            assert_eq!(e.offset, MAX_DEPTH, "{depth}");
            assert!(e.message.contains("nested more than"), "{}", e.message);
            let e = Condition::parse(&format!("{}a = b", "not ".repeat(depth))).unwrap_err();
            assert!(e.message.contains("nested more than"), "{}", e.message);
        }
        let long = vec!["a = b"; 5_000].join(" and ");
        let e = Condition::parse(&long).unwrap_err();
        assert!(e.message.contains("comparisons"), "{}", e.message);
        // What a survey writer needs stays well inside the limits.
        let fine = format!("{}a = b{}", "(".repeat(10), ")".repeat(10));
        assert!(Condition::parse(&fine).is_ok());
    }

    #[test]
    fn syntax_errors_point_at_the_offending_place() {
        let e = Condition::parse("observerat ja").unwrap_err();
        assert_eq!(e.offset, 11);
        assert!(e.message.contains("expected a comparison"), "{}", e.message);
        let e = Condition::parse("observerat = ").unwrap_err();
        assert!(e.message.contains("ends where a value"), "{}", e.message);
        let e = Condition::parse("(a = b").unwrap_err();
        assert!(e.message.contains("`)`"), "{}", e.message);
        let e = Condition::parse("a = b c").unwrap_err();
        assert_eq!(e.offset, 6);
        assert!(Condition::parse("a ~ b").is_err());
    }
}
