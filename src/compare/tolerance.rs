//! The tolerance rule of the course contract (§4): numpy's `isclose`, with the non-finite
//! rules spelled out.

use serde::{Deserialize, Serialize};

/// How close a float must be to the expected one.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    pub rtol: f64,
    pub atol: f64,
    /// Bit-for-bit equality (but `-0.0 == 0.0` and `nan` matches `nan`).
    #[serde(default)]
    pub exact: bool,
}

impl Default for Tolerance {
    fn default() -> Self {
        Self {
            rtol: 1e-6,
            atol: 1e-9,
            exact: false,
        }
    }
}

impl Tolerance {
    /// `|got − expected| ≤ atol + rtol·|expected|`; `inf` matches only `inf` of the same sign,
    /// `nan` only where `nan` is expected.
    pub fn accepts(&self, expected: f64, got: f64) -> bool {
        if expected.is_nan() || got.is_nan() {
            return expected.is_nan() && got.is_nan();
        }
        if expected.is_infinite() || got.is_infinite() || self.exact {
            return expected == got;
        }
        (got - expected).abs() <= self.atol + self.rtol * expected.abs()
    }

    /// The rule in words, for mismatch messages.
    pub fn describe(&self) -> String {
        if self.exact {
            "exact".into()
        } else {
            format!(
                "|got − expected| ≤ {:e} + {:e}·|expected|",
                self.atol, self.rtol
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T: Tolerance = Tolerance {
        rtol: 1e-6,
        atol: 1e-9,
        exact: false,
    };

    #[test]
    fn table() {
        let inf = f64::INFINITY;
        let nan = f64::NAN;
        for (expected, got, ok) in [
            (1.0, 1.0, true),
            (1.0, 1.0 + 5e-7, true),
            (1.0, 1.0 + 2e-6, false),
            (0.0, 5e-10, true),
            (0.0, 2e-9, false),
            (0.0, -0.0, true),
            (inf, inf, true),
            (inf, -inf, false),
            (-inf, -inf, true),
            (inf, 1e308, false),
            (1e308, inf, false),
            (nan, nan, true),
            (nan, 0.0, false),
            (0.0, nan, false),
            (nan, inf, false),
        ] {
            assert_eq!(
                T.accepts(expected, got),
                ok,
                "expected {expected}, got {got}"
            );
        }
    }

    #[test]
    fn exact_still_equates_signed_zeros_and_nans() {
        let exact = Tolerance { exact: true, ..T };
        assert!(exact.accepts(0.0, -0.0));
        assert!(exact.accepts(f64::NAN, f64::NAN));
        assert!(!exact.accepts(1.0, 1.0 + f64::EPSILON));
    }

    fn any_float() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            -1e6..1e6f64,
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(0.0),
            Just(-0.0),
        ]
    }

    proptest! {
        #[test]
        fn nan_never_equals_a_number(x in any_float().prop_filter("number", |x| !x.is_nan())) {
            prop_assert!(!T.accepts(f64::NAN, x));
            prop_assert!(!T.accepts(x, f64::NAN));
        }

        #[test]
        fn every_value_matches_itself(x in any_float()) {
            prop_assert!(T.accepts(x, x));
        }

        #[test]
        fn absolute_rule_is_symmetric(a in -1e3..1e3f64, b in -1e3..1e3f64, atol in 0.0..1.0f64) {
            let abs = Tolerance { rtol: 0.0, atol, exact: false };
            prop_assert_eq!(abs.accepts(a, b), abs.accepts(b, a));
        }

        #[test]
        fn looser_tolerance_accepts_more(e in -1e3..1e3f64, g in -1e3..1e3f64, k in 1.0..100.0f64) {
            let loose = Tolerance { rtol: T.rtol * k, atol: T.atol * k, exact: false };
            prop_assert!(!T.accepts(e, g) || loose.accepts(e, g));
        }

        #[test]
        fn infinity_matches_only_itself(x in any_float()) {
            prop_assert_eq!(T.accepts(f64::INFINITY, x), x == f64::INFINITY);
            prop_assert_eq!(T.accepts(f64::NEG_INFINITY, x), x == f64::NEG_INFINITY);
        }
    }
}
