//! How a denial is worked: open -> in_progress -> appealed -> resolved | written_off. A biller
//! may also resolve or write off without an appeal (a corrected claim paid, a small balance),
//! and take back an item to work again before it is closed. Closed denials stay closed.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DenialStatus {
    Open,
    InProgress,
    Appealed,
    Resolved,
    WrittenOff,
}

use DenialStatus::*;

/// Every allowed move.
const EDGES: &[(DenialStatus, DenialStatus)] = &[
    (Open, InProgress),
    (Open, Resolved),
    (Open, WrittenOff),
    (InProgress, Open),
    (InProgress, Appealed),
    (InProgress, Resolved),
    (InProgress, WrittenOff),
    (Appealed, InProgress),
    (Appealed, Resolved),
    (Appealed, WrittenOff),
];

impl DenialStatus {
    pub const ALL: [DenialStatus; 5] = [Open, InProgress, Appealed, Resolved, WrittenOff];

    pub fn as_str(&self) -> &'static str {
        match self {
            Open => "open",
            InProgress => "in_progress",
            Appealed => "appealed",
            Resolved => "resolved",
            WrittenOff => "written_off",
        }
    }

    pub fn parse(s: &str) -> Option<DenialStatus> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Resolved and written off are final.
    pub fn is_closed(&self) -> bool {
        matches!(self, Resolved | WrittenOff)
    }

    /// The statuses a denial may move to from this one.
    pub fn allowed_next(&self) -> Vec<DenialStatus> {
        EDGES
            .iter()
            .filter(|(f, _)| f == self)
            .map(|(_, t)| *t)
            .collect()
    }
}

/// A move the table does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a denial cannot move from {} to {}", .from.as_str(), .to.as_str())]
pub struct StatusRefused {
    pub from: DenialStatus,
    pub to: DenialStatus,
    pub allowed: Vec<DenialStatus>,
}

/// Checks a move against the table.
pub fn check(from: DenialStatus, to: DenialStatus) -> Result<(), StatusRefused> {
    if EDGES.contains(&(from, to)) {
        Ok(())
    } else {
        Err(StatusRefused {
            from,
            to,
            allowed: from.allowed_next(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worked_path_is_allowed() {
        for (f, t) in [
            (Open, InProgress),
            (InProgress, Appealed),
            (Appealed, Resolved),
            (Appealed, WrittenOff),
        ] {
            assert_eq!(check(f, t), Ok(()), "{f:?} -> {t:?}");
        }
    }

    #[test]
    fn closed_denials_stay_closed_and_nothing_skips_to_appealed() {
        for closed in [Resolved, WrittenOff] {
            assert!(closed.is_closed());
            assert!(closed.allowed_next().is_empty());
            for to in DenialStatus::ALL {
                assert!(check(closed, to).is_err());
            }
        }
        let e = check(Open, Appealed).unwrap_err();
        assert_eq!(e.allowed, vec![InProgress, Resolved, WrittenOff]);
        assert_eq!(e.to_string(), "a denial cannot move from open to appealed");
        for s in DenialStatus::ALL {
            assert!(check(s, s).is_err(), "{s:?} to itself");
            assert_eq!(DenialStatus::parse(s.as_str()), Some(s));
        }
    }
}
