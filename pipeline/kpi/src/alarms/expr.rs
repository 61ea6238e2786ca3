//! Metric-math expressions over catalogue names (`100 * MfaCompletions /
//! MfaChallenges`): parsed once, evaluated by the backtest and rewritten
//! with CloudWatch query ids for PutMetricAlarm.

/// A token of an expression.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Num(f64),
    Ident(String),
    Op(char),
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    tokens: Vec<Token>,
}

impl Expr {
    /// Parses `+ - * /`, parentheses, numbers and metric names.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut tokens = Vec::new();
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_whitespace() {
                i += 1;
            } else if c.is_ascii_digit() || c == '.' {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let s: String = chars[start..i].iter().collect();
                tokens.push(Token::Num(s.parse().map_err(|_| format!("bad number {s:?} in {text:?}"))?));
            } else if c.is_ascii_alphabetic() {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                tokens.push(Token::Ident(chars[start..i].iter().collect()));
            } else if "+-*/()".contains(c) {
                tokens.push(Token::Op(c));
                i += 1;
            } else {
                return Err(format!("unexpected {c:?} in expression {text:?}"));
            }
        }
        let e = Self { tokens };
        // A dry run with every name at 1 checks the grammar.
        let mut pos = 0;
        e.sum(&mut pos, &|_| Some(1.0)).map_err(|m| format!("{m} in expression {text:?}"))?;
        if pos != e.tokens.len() {
            return Err(format!("unexpected trailing input in expression {text:?}"));
        }
        Ok(e)
    }

    /// The metric names used, in order of first use.
    pub fn identifiers(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for t in &self.tokens {
            if let Token::Ident(s) = t {
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
        }
        out
    }

    /// The expression with each name replaced by `rename(name)`.
    pub fn rewrite(&self, rename: &dyn Fn(&str) -> String) -> String {
        let parts: Vec<String> = self
            .tokens
            .iter()
            .map(|t| match t {
                Token::Num(n) => format!("{n}"),
                Token::Ident(s) => rename(s),
                Token::Op(c) => c.to_string(),
            })
            .collect();
        parts.join(" ")
    }

    /// The value, or None when a name has no value or a division by zero
    /// occurs (CloudWatch leaves such a datapoint out).
    pub fn eval(&self, value: &dyn Fn(&str) -> Option<f64>) -> Option<f64> {
        let mut pos = 0;
        self.sum(&mut pos, value).ok().flatten()
    }

    fn sum(&self, pos: &mut usize, value: &dyn Fn(&str) -> Option<f64>) -> Result<Option<f64>, String> {
        let mut acc = self.product(pos, value)?;
        while let Some(Token::Op(op @ ('+' | '-'))) = self.tokens.get(*pos) {
            *pos += 1;
            let rhs = self.product(pos, value)?;
            acc = match (acc, rhs) {
                (Some(a), Some(b)) => Some(if *op == '+' { a + b } else { a - b }),
                _ => None,
            };
        }
        Ok(acc)
    }

    fn product(&self, pos: &mut usize, value: &dyn Fn(&str) -> Option<f64>) -> Result<Option<f64>, String> {
        let mut acc = self.atom(pos, value)?;
        while let Some(Token::Op(op @ ('*' | '/'))) = self.tokens.get(*pos) {
            *pos += 1;
            let rhs = self.atom(pos, value)?;
            acc = match (acc, rhs) {
                (Some(a), Some(b)) if *op == '*' => Some(a * b),
                (Some(a), Some(b)) if b != 0.0 => Some(a / b),
                _ => None,
            };
        }
        Ok(acc)
    }

    fn atom(&self, pos: &mut usize, value: &dyn Fn(&str) -> Option<f64>) -> Result<Option<f64>, String> {
        let t = self.tokens.get(*pos).ok_or("unexpected end")?;
        *pos += 1;
        match t {
            Token::Num(n) => Ok(Some(*n)),
            Token::Ident(s) => Ok(value(s)),
            Token::Op('-') => Ok(self.atom(pos, value)?.map(|v| -v)),
            Token::Op('(') => {
                let v = self.sum(pos, value)?;
                match self.tokens.get(*pos) {
                    Some(Token::Op(')')) => {
                        *pos += 1;
                        Ok(v)
                    }
                    _ => Err("missing ')'".into()),
                }
            }
            Token::Op(c) => Err(format!("unexpected {c:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_and_rewrites() {
        let e = Expr::parse("100 * (MfaCompletions) / MfaChallenges").unwrap();
        assert_eq!(e.identifiers(), vec!["MfaCompletions", "MfaChallenges"]);
        let v = |n: &str| match n {
            "MfaCompletions" => Some(3.0),
            "MfaChallenges" => Some(4.0),
            _ => None,
        };
        assert_eq!(e.eval(&v), Some(75.0));
        assert_eq!(e.eval(&|n| if n == "MfaChallenges" { Some(0.0) } else { Some(1.0) }), None);
        assert_eq!(e.rewrite(&|n| format!("SUM([{n}])")), "100 * ( SUM([MfaCompletions]) ) / SUM([MfaChallenges])");
        assert!(Expr::parse("1 +").is_err());
        assert!(Expr::parse("(1").is_err());
        assert!(Expr::parse("a; DROP").is_err());
        assert_eq!(Expr::parse("-2 * 3 - 1").unwrap().eval(&|_| None), Some(-7.0));
    }
}
