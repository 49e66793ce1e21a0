//! The contract's verdicts (§3): data shared by specs (labels of known solutions), grading
//! and reports.

use serde::{Deserialize, Serialize};

/// The contract's verdicts (§3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accepted,
    WrongAnswer,
    InvalidOutput,
    RuntimeError,
    TimeLimitExceeded,
    MemoryLimitExceeded,
    OutputLimitExceeded,
    InvalidSubmission,
}

impl Verdict {
    pub const ALL: [Verdict; 8] = [
        Verdict::Accepted,
        Verdict::WrongAnswer,
        Verdict::InvalidOutput,
        Verdict::RuntimeError,
        Verdict::TimeLimitExceeded,
        Verdict::MemoryLimitExceeded,
        Verdict::OutputLimitExceeded,
        Verdict::InvalidSubmission,
    ];

    /// The name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::WrongAnswer => "wrong_answer",
            Verdict::InvalidOutput => "invalid_output",
            Verdict::RuntimeError => "runtime_error",
            Verdict::TimeLimitExceeded => "time_limit_exceeded",
            Verdict::MemoryLimitExceeded => "memory_limit_exceeded",
            Verdict::OutputLimitExceeded => "output_limit_exceeded",
            Verdict::InvalidSubmission => "invalid_submission",
        }
    }

    /// The whole message a student gets for a hidden case with this verdict: the same for
    /// every case and every program, so that no report can carry hidden data out.
    pub fn hidden_message(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::WrongAnswer => "hidden case: an output is wrong",
            Verdict::InvalidOutput => {
                "hidden case: the output is not one JSON object with the declared fields"
            }
            Verdict::RuntimeError => {
                "hidden case: the program crashed or exited with a non-zero status"
            }
            Verdict::TimeLimitExceeded => "hidden case: the program ran past its time limit",
            Verdict::MemoryLimitExceeded => {
                "hidden case: the program asked for more memory than the limit"
            }
            Verdict::OutputLimitExceeded => {
                "hidden case: the program wrote more than the stdout limit"
            }
            Verdict::InvalidSubmission => "hidden case: the module cannot be run",
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_names_round_trip() {
        for v in Verdict::ALL {
            assert_eq!(Verdict::parse(v.as_str()), Some(v));
            assert_eq!(
                serde_json::to_value(v).ok(),
                Some(serde_json::Value::String(v.as_str().into()))
            );
        }
    }
}
