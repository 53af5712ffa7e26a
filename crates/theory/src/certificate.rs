//! What every theorem returns: whether its condition holds for the given quantities, the two
//! sides of the condition, and the guaranteed error bound when it holds.

use std::fmt;

use serde::Serialize;

/// How the two sides of a theorem's condition are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Relation {
    /// The condition is `lhs < rhs`.
    Less,
    /// The condition is `lhs <= rhs`.
    LessEq,
    /// The condition is `lhs > rhs`.
    Greater,
}

impl Relation {
    /// Whether `lhs (relation) rhs`; `false` when either side is NaN.
    pub fn compare(self, lhs: f64, rhs: f64) -> bool {
        match self {
            Relation::Less => lhs < rhs,
            Relation::LessEq => lhs <= rhs,
            Relation::Greater => lhs > rhs,
        }
    }

    /// The comparison symbol (`<`, `<=`, `>`).
    pub fn symbol(self) -> &'static str {
        match self {
            Relation::Less => "<",
            Relation::LessEq => "<=",
            Relation::Greater => ">",
        }
    }
}

/// The verdict of one theorem on measured quantities.
///
/// `holds` says whether the theorem's sufficient condition `lhs (relation) rhs` is met (and any
/// side condition, such as a positive margin). When it holds, `guarantee` is what the theorem
/// promises and `error_bound` (if the theorem bounds an error) the guaranteed bound, in the norm
/// named by `guarantee`; when it does not hold, `error_bound` is `None`: the theorem promises
/// nothing (the pursuit may still succeed: these are worst-case, sufficient conditions).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Certificate {
    /// Short name of the theorem (`"OMP exact recovery"`, `"layered BP, layer 2"`).
    pub theorem: String,
    /// The paper(s) it comes from.
    pub citation: &'static str,
    /// The condition, in words and symbols (`"||a||_0 < (1 + 1/mu) / 2"`).
    pub condition: &'static str,
    /// How `lhs` and `rhs` are compared.
    pub relation: Relation,
    /// Whether the condition (and any side condition) holds.
    pub holds: bool,
    /// Left side of the condition.
    pub lhs: f64,
    /// Right side of the condition.
    pub rhs: f64,
    /// What the theorem guarantees when the condition holds.
    pub guarantee: &'static str,
    /// The guaranteed error bound, when the condition holds and the theorem bounds an error.
    pub error_bound: Option<f64>,
}

impl Certificate {
    /// A certificate whose `holds` is `relation.compare(lhs, rhs) && side`, and whose error
    /// bound is kept only when it holds.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        theorem: impl Into<String>,
        citation: &'static str,
        condition: &'static str,
        relation: Relation,
        lhs: f64,
        rhs: f64,
        side: bool,
        guarantee: &'static str,
        error_bound: Option<f64>,
    ) -> Self {
        let holds = side && relation.compare(lhs, rhs);
        Self {
            theorem: theorem.into(),
            citation,
            condition,
            relation,
            holds,
            lhs,
            rhs,
            guarantee,
            error_bound: if holds { error_bound } else { None },
        }
    }

    /// How far inside the condition the quantities are: `rhs - lhs` for `<`/`<=`, `lhs - rhs`
    /// for `>` (positive when the inequality holds).
    pub fn slack(&self) -> f64 {
        match self.relation {
            Relation::Less | Relation::LessEq => self.rhs - self.lhs,
            Relation::Greater => self.lhs - self.rhs,
        }
    }
}

/// Whether every certificate holds (true for an empty list).
pub fn all_hold(certs: &[Certificate]) -> bool {
    certs.iter().all(|c| c.holds)
}

fn num(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.to_string()
    } else if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

impl fmt::Display for Certificate {
    /// One line: verdict, theorem, citation, the condition with its numbers, and what follows.
    ///
    /// `[holds] OMP exact recovery (Tropp 2004): ||a||_0 < (1 + 1/mu) / 2: 3.0000 < 3.3300 => ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.holds { "holds" } else { "fails" };
        write!(
            f,
            "[{verdict}] {} ({}): {}: {} {} {}",
            self.theorem,
            self.citation,
            self.condition,
            num(self.lhs),
            self.relation.symbol(),
            num(self.rhs)
        )?;
        if self.holds {
            write!(f, " => {}", self.guarantee)?;
            if let Some(e) = self.error_bound {
                write!(
                    f,
                    " (error bound {})",
                    if e == 0.0 { "0".into() } else { num(e) }
                )?;
            }
        } else {
            write!(f, " => no guarantee")?;
        }
        Ok(())
    }
}
