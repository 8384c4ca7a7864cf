//! Bad input gives a named error that says what is wrong and where, never a panic.

use adroit_clv::{
    BgBb, BgNbd, ClvError, ClvOptions, Discrete, GammaGamma, Period, Rfm, Sbg, Spend,
    SummaryOptions, Transaction, customer_lifetime_value, holdout_table, summarize,
};

#[test]
fn rfm_input_is_checked() {
    let e = Rfm::new(&[], &[], &[]).unwrap_err();
    assert_eq!(e, ClvError::Empty { what: "customers" });
    assert!(e.to_string().contains("no customers"));

    let e = Rfm::new(&[1.0, 2.0], &[1.0], &[3.0, 3.0]).unwrap_err();
    assert!(
        matches!(
            e,
            ClvError::LengthMismatch {
                field: "recency",
                found: 1,
                expected: 2,
                ..
            }
        ),
        "{e}"
    );

    let e = Rfm::new(&[1.0, 2.5], &[1.0, 2.0], &[3.0, 3.0]).unwrap_err();
    assert_eq!(
        e,
        ClvError::NotInteger {
            field: "frequency",
            row: 1,
            value: 2.5
        }
    );
    assert!(e.to_string().contains("whole number"));

    let e = Rfm::new(&[1.0, 2.0], &[1.0, 4.0], &[3.0, 3.0]).unwrap_err();
    assert_eq!(
        e,
        ClvError::RecencyAfterAge {
            row: 1,
            recency: 4.0,
            age: 3.0
        }
    );
    assert!(e.to_string().contains("cannot exceed"), "{e}");

    let e = Rfm::new(&[1e12], &[1.0], &[3.0]).unwrap_err();
    assert!(e.to_string().contains("at most 1,000,000"), "{e}");

    let e = Rfm::new(&[0.0], &[1.0], &[3.0]).unwrap_err();
    assert!(matches!(e, ClvError::RecencyWithoutRepeat { row: 0, .. }));

    let e = Rfm::new(&[-1.0], &[0.0], &[3.0]).unwrap_err();
    assert!(matches!(
        e,
        ClvError::Negative {
            field: "frequency",
            row: 0,
            ..
        }
    ));

    let e = Rfm::new(&[1.0], &[f64::NAN], &[3.0]).unwrap_err();
    assert!(matches!(
        e,
        ClvError::NotFinite {
            field: "recency",
            row: 0,
            ..
        }
    ));

    let ok = Rfm::new(&[1.0], &[1.0], &[3.0]).unwrap();
    assert_eq!(ok.with_weights(&[0.0]).unwrap_err(), ClvError::ZeroWeight);
    assert!(matches!(
        ok.with_weights(&[-1.0]).unwrap_err(),
        ClvError::Negative {
            field: "weights",
            ..
        }
    ));
}

#[test]
fn spend_and_discrete_inputs_are_checked() {
    let e = Spend::new(&[2.0, 1.0], &[10.0, -5.0]).unwrap_err();
    assert_eq!(
        e,
        ClvError::Negative {
            field: "monetary value",
            row: 1,
            value: -5.0
        }
    );
    let e = Spend::new(&[2.0, 1.0], &[10.0, 0.0]).unwrap_err();
    assert!(e.to_string().contains("positive spend"), "{e}");
    let e = Spend::new(&[0.0, 0.0], &[0.0, 0.0]).unwrap_err();
    assert!(matches!(e, ClvError::Empty { .. }));
    assert!(
        GammaGamma::fit(&Spend::new(&[1.0], &[3.0]).unwrap())
            .is_ok_and(|f| f.log_likelihood.is_finite())
    );

    let e = Discrete::new(&[3.0], &[2.0], &[6.0]).unwrap_err();
    assert!(
        e.to_string().contains("frequency must not exceed recency"),
        "{e}"
    );
    let e = Discrete::new(&[1.0], &[7.0], &[6.0]).unwrap_err();
    assert!(matches!(e, ClvError::RecencyAfterAge { .. }));
    let e = Discrete::new(&[1.0], &[1.5], &[6.0]).unwrap_err();
    assert!(matches!(
        e,
        ClvError::NotInteger {
            field: "recency",
            ..
        }
    ));

    assert!(matches!(
        Sbg::fit(&[1000.0]).unwrap_err(),
        ClvError::Empty { .. }
    ));
    let e = Sbg::fit(&[1000.0, 600.0, 700.0]).unwrap_err();
    assert!(e.to_string().contains("can only shrink"), "{e}");
    assert_eq!(Sbg::fit(&[0.0, 0.0]).unwrap_err(), ClvError::ZeroWeight);
}

#[test]
fn summary_input_is_checked() {
    let options = SummaryOptions {
        calibration_end: 100,
        holdout_end: None,
        period: Period::Day,
        unit_days: 7.0,
    };
    assert_eq!(
        summarize(&[], &options).unwrap_err(),
        ClvError::Empty {
            what: "transactions"
        }
    );
    let t = |customer, time, amount| Transaction {
        customer,
        time,
        amount,
    };
    let e = summarize(&[t(1, 5, 10.0), t(1, 6, -3.0)], &options).unwrap_err();
    assert_eq!(
        e,
        ClvError::Negative {
            field: "amount",
            row: 1,
            value: -3.0
        }
    );
    assert!(e.to_string().contains("amount in row 1 is -3"), "{e}");
    let e = summarize(&[t(1, 5, f64::INFINITY)], &options).unwrap_err();
    assert!(matches!(
        e,
        ClvError::NotFinite {
            field: "amount",
            row: 0,
            ..
        }
    ));
    let e = summarize(
        &[t(1, 5, 1.0)],
        &SummaryOptions {
            unit_days: 0.0,
            ..options
        },
    )
    .unwrap_err();
    assert!(matches!(
        e,
        ClvError::InvalidOption {
            name: "unit_days",
            ..
        }
    ));
    let e = summarize(
        &[t(1, 5, 1.0)],
        &SummaryOptions {
            holdout_end: Some(50),
            ..options
        },
    )
    .unwrap_err();
    assert!(matches!(
        e,
        ClvError::InvalidOption {
            name: "holdout_end",
            ..
        }
    ));
    // Everyone acquired after the calibration end: nothing to summarise.
    let e = summarize(
        &[t(1, 500, 1.0)],
        &SummaryOptions {
            holdout_end: Some(600),
            ..options
        },
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("acquired by the calibration end"),
        "{e}"
    );
}

#[test]
fn prediction_options_are_checked() {
    let data = Rfm::new(&[1.0, 0.0], &[2.0, 0.0], &[5.0, 5.0]).unwrap();
    let m = BgNbd {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };
    let good = ClvOptions {
        periods: 12,
        period_length: 4.345,
        discount_rate: 0.01,
        margin: 1.0,
    };
    assert!(customer_lifetime_value(&m, &data, &[10.0, 10.0], &good).is_ok());
    let e = customer_lifetime_value(&m, &data, &[10.0], &good).unwrap_err();
    assert!(matches!(e, ClvError::LengthMismatch { field: "spend", .. }));
    for bad in [
        ClvOptions { periods: 0, ..good },
        ClvOptions {
            period_length: -1.0,
            ..good
        },
        ClvOptions {
            discount_rate: -1.0,
            ..good
        },
        ClvOptions {
            margin: f64::NAN,
            ..good
        },
    ] {
        assert!(matches!(
            customer_lifetime_value(&m, &data, &[10.0, 10.0], &bad),
            Err(ClvError::InvalidOption { .. })
        ));
    }
    let e = holdout_table(&m, &data, &[1.0, 0.5], 39.0, 7).unwrap_err();
    assert!(matches!(
        e,
        ClvError::NotInteger {
            field: "holdout frequency",
            row: 1,
            ..
        }
    ));
    assert!(matches!(
        holdout_table(&m, &data, &[1.0, 0.0], 0.0, 7),
        Err(ClvError::InvalidOption { .. })
    ));
    assert!(matches!(
        holdout_table(&m, &data, &[1.0, 0.0], 39.0, u32::MAX),
        Err(ClvError::InvalidOption { .. })
    ));
    let forever = ClvOptions {
        periods: usize::MAX,
        ..good
    };
    assert!(matches!(
        customer_lifetime_value(&m, &data, &[10.0, 10.0], &forever),
        Err(ClvError::InvalidOption { .. })
    ));
}

/// Degenerate but valid data fit without panicking: one customer, nobody repeating.
#[test]
fn degenerate_data_do_not_panic() {
    let data = Rfm::new(&[0.0, 0.0, 0.0], &[0.0, 0.0, 0.0], &[10.0, 20.0, 30.0]).unwrap();
    // No repeat purchase at all: the rate runs to 0, the fit says it did not converge
    // or returns finite estimates; either way no panic and a finite log-likelihood.
    if let Ok(fit) = BgNbd::fit(&data) {
        assert!(fit.log_likelihood.is_finite());
    }
    let single = Discrete::new(&[0.0], &[0.0], &[6.0]).unwrap();
    if let Ok(fit) = BgBb::fit(&single) {
        assert!(fit.log_likelihood.is_finite());
    }
}
