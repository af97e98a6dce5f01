//! Tests of the model seam: config checks, agreement with scikit-learn on committed
//! fixtures (`scripts/gen-model-fixtures.py`), class mapping, bad input.

use std::path::PathBuf;

use ndarray::{Array1, Array2, array};
use proptest::prelude::*;
use serde::Deserialize;

use super::*;

// ---------------------------------------------------------------------------------------
// Config

fn parse(toml_text: &str) -> Result<RawModelConfig, toml::de::Error> {
    toml::from_str(toml_text)
}

#[test]
fn empty_table_gives_documented_defaults() {
    let raw = parse("").unwrap();
    assert_eq!(raw, RawModelConfig::default());
    let params = raw.check().unwrap();
    assert_eq!(
        (
            params.alpha(),
            params.max_iterations(),
            params.gradient_tolerance(),
            params.fit_intercept()
        ),
        (1.0, 100, 1e-4, true)
    );
    assert_eq!(params.solver(), SolverChoice::Auto);
    // Two classes go to linfa-logistic while its dense matrix is small: wide data (fitted in
    // its row space) or few cells; past that, and for three classes, to our L-BFGS.
    let auto = params.solver();
    assert_eq!(auto.for_training(2, 22, 1_700, 400), Solver::Linfa);
    assert_eq!(auto.for_training(2, 1_000, 1_000, 20_000), Solver::Linfa);
    assert_eq!(auto.for_training(2, 1_418, 5_000, 20_000), Solver::Lbfgs);
    assert_eq!(auto.for_training(3, 22, 1_700, 400), Solver::Lbfgs);
    // Large sparse problems go to truncated Newton, for two classes or more.
    assert_eq!(
        auto.for_training(2, 30_000, 120_000, 12_000_000),
        Solver::Newton
    );
    assert_eq!(auto.for_training(3, 4_000, 30_000, 400_000), Solver::Newton);
    assert_eq!(auto.for_training(3, 240, 16_000, 100_000), Solver::Newton);
    assert_eq!(auto.for_training(3, 1_500, 5_000, 20_000), Solver::Lbfgs);
    assert_eq!(
        SolverChoice::Linfa.for_training(2, 1_418, 5_000, 20_000),
        Solver::Linfa
    );
    assert_eq!(
        SolverChoice::Lbfgs.for_training(2, 22, 1_700, 400),
        Solver::Lbfgs
    );
    assert_eq!(
        SolverChoice::Newton.for_training(2, 22, 1_700, 400),
        Solver::Newton
    );
    assert_eq!(params, ModelConfig::default());
}

#[test]
fn keys_parse_and_round_trip() {
    let raw = parse("alpha = 2\nmax_iterations = 7\ngradient_tolerance = 1e-6\nfit_intercept = false\nsolver = \"lbfgs\"").unwrap();
    assert_eq!(
        raw,
        RawModelConfig {
            alpha: 2.0,
            max_iterations: 7,
            gradient_tolerance: 1e-6,
            fit_intercept: false,
            solver: SolverChoice::Lbfgs,
            per_group: false,
            class_weight: ClassWeight::None,
        }
    );
    assert_eq!(parse(&toml::to_string(&raw).unwrap()).unwrap(), raw);
}

#[test]
fn unknown_keys_and_solvers_are_rejected() {
    for text in ["C = 1.0", "alpah = 1.0", "solver = \"tron\""] {
        assert!(parse(text).is_err(), "{text} was accepted");
    }
}

#[test]
fn out_of_range_values_name_their_key() {
    fn check(text: &str, key: &str) {
        let err = parse(text).unwrap().check().unwrap_err();
        assert_eq!(err.key(), key, "{text}: {err}");
        assert!(err.to_string().contains(key), "{err}");
    }
    check("alpha = -0.5", "alpha");
    check("alpha = nan", "alpha");
    check("alpha = inf", "alpha");
    check("max_iterations = 0", "max_iterations");
    check("gradient_tolerance = 0.0", "gradient_tolerance");
    check("gradient_tolerance = -1e-4", "gradient_tolerance");
    check(
        "class_weight = \"balanced\"\nsolver = \"linfa\"",
        "class_weight",
    );
    assert!(parse("alpha = 0.0").unwrap().check().is_ok());
    assert!(parse("class_weight = \"balance\"").is_err());
    let balanced = parse("class_weight = \"balanced\"").unwrap();
    assert_eq!(balanced.class_weight, ClassWeight::Balanced);
    assert_eq!(
        parse(&toml::to_string(&balanced).unwrap()).unwrap(),
        balanced
    );
    // The default is not written, so tables recorded before the key existed stay the same.
    assert!(
        !toml::to_string(&RawModelConfig::default())
            .unwrap()
            .contains("class_weight")
    );
}

/// `class_weight = "balanced"`: each row weighs `n / (classes present · rows of its class)`.
#[test]
fn balanced_weights_are_scikit_learns() {
    fn check(y: &[usize], classes: &[usize], expected: &[f64]) {
        let got = ClassWeight::Balanced.row_weights(y, classes).unwrap();
        assert_eq!(got.len(), expected.len(), "{y:?}");
        for (g, e) in got.iter().zip(expected) {
            assert!((g - e).abs() < 1e-15, "{y:?}: {got:?}");
        }
        assert!((got.iter().sum::<f64>() - y.len() as f64).abs() < 1e-12);
    }
    // By hand: 4 rows, 2 classes; 3 of class 0 → 4 / (2·3), 1 of class 1 → 4 / 2.
    check(
        &[0, 0, 1, 0],
        &[0, 1],
        &[2.0 / 3.0, 2.0 / 3.0, 2.0, 2.0 / 3.0],
    );
    // Class 1 absent from these rows: two classes present, 5 rows.
    check(
        &[2, 0, 2, 2, 2],
        &[0, 2],
        &[0.625, 2.5, 0.625, 0.625, 0.625],
    );
    check(&[0, 1, 2], &[0, 1, 2], &[1.0, 1.0, 1.0]);
    assert_eq!(ClassWeight::None.row_weights(&[0, 1], &[0, 1]), None);
}

#[test]
fn solver_names_round_trip() {
    for solver in [
        SolverChoice::Auto,
        SolverChoice::Lbfgs,
        SolverChoice::Linfa,
        SolverChoice::Newton,
    ] {
        let raw = parse(&format!("solver = \"{}\"", solver.as_str())).unwrap();
        assert_eq!(raw.check().unwrap().solver(), solver);
    }
}

// ---------------------------------------------------------------------------------------
// scikit-learn fixtures

#[derive(Deserialize)]
struct Sparse {
    rows: usize,
    cols: usize,
    entries: Vec<(usize, usize, f64)>,
}

impl Sparse {
    fn dense(&self) -> Array2<f64> {
        let mut x = Array2::zeros((self.rows, self.cols));
        for &(i, j, v) in &self.entries {
            x[[i, j]] = v;
        }
        x
    }
}

#[derive(Deserialize)]
struct Fixture {
    name: String,
    n_classes: usize,
    x: Sparse,
    y: Vec<usize>,
    x_test: Option<Sparse>,
    fits: Vec<Reference>,
}

#[derive(Deserialize)]
struct Reference {
    alpha: f64,
    fit_intercept: bool,
    n_iter: u64,
    max_iter: u64,
    classes: Vec<usize>,
    coef: Vec<Vec<f64>>,
    intercept: Vec<f64>,
    proba_train: Vec<Vec<f64>>,
    proba_test: Option<Vec<Vec<f64>>>,
    /// scikit-learn's `class_weight`; absent for `None`.
    #[serde(default)]
    class_weight: ClassWeight,
}

fn fixture(name: &str) -> Fixture {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/model/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

const FIXTURES: [&str; 12] = [
    "tiny_binary",
    "binary_minority_0",
    "binary_minority_1",
    "binary_separable",
    "binary_bow_wide",
    "multiclass_small",
    "multiclass_four",
    "absent_class",
    "multiclass_bow",
    "binary_tall",
    "multiclass_wide",
    "multiclass_tall",
];

fn params(
    alpha: f64,
    fit_intercept: bool,
    solver: Solver,
    tolerance: f64,
    max_iterations: u64,
) -> ModelConfig {
    RawModelConfig {
        alpha,
        max_iterations,
        gradient_tolerance: tolerance,
        fit_intercept,
        solver: choice(solver),
        per_group: false,
        class_weight: ClassWeight::None,
    }
    .check()
    .unwrap()
}

/// The config value that always picks `solver`.
fn choice(solver: Solver) -> SolverChoice {
    match solver {
        Solver::Lbfgs => SolverChoice::Lbfgs,
        Solver::Linfa => SolverChoice::Linfa,
        Solver::Newton => SolverChoice::Newton,
    }
}

fn max_abs_diff(ours: &Array2<f64>, theirs: &[Vec<f64>]) -> f64 {
    assert_eq!(ours.nrows(), theirs.len());
    ours.outer_iter()
        .zip(theirs)
        .flat_map(|(a, b)| {
            assert_eq!(a.len(), b.len());
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .collect::<Vec<_>>()
        })
        .fold(0.0, f64::max)
}

/// Fits `params` on the fixture and returns the largest probability difference from the
/// reference (training and held-out rows) and the model.
fn compare(fx: &Fixture, reference: &Reference, params: &ModelConfig) -> (f64, FittedModel) {
    let model = params
        .fit(fx.x.dense().view(), &fx.y, fx.n_classes)
        .unwrap();
    (proba_diff(fx, reference, &model), model)
}

/// Coefficients and intercepts within 1e-4 of scikit-learn's at the optimum.
fn assert_optimum_matches(what: &str, reference: &Reference, model: &FittedModel) {
    let coef_diff = max_abs_diff(&model.weights().to_owned(), &reference.coef);
    let intercept_diff = max_abs_diff(
        &model.intercepts().to_owned().insert_axis(ndarray::Axis(0)),
        std::slice::from_ref(&reference.intercept),
    );
    assert!(
        coef_diff.max(intercept_diff) <= 1e-4,
        "{what}: max |Δw| = {coef_diff:e}, |Δb| = {intercept_diff:e}"
    );
}

/// The largest probability difference of `model` from the reference, on training and
/// held-out rows.
fn proba_diff(fx: &Fixture, reference: &Reference, model: &FittedModel) -> f64 {
    let x = fx.x.dense();
    assert_eq!(model.classes(), &reference.classes[..], "{}", fx.name);
    let mut diff = max_abs_diff(
        &model.predict_proba(&csr(&x)).unwrap(),
        &reference.proba_train,
    );
    if let (Some(x_test), Some(p_test)) = (&fx.x_test, &reference.proba_test) {
        diff = diff.max(max_abs_diff(
            &model.predict_proba(&csr(&x_test.dense())).unwrap(),
            p_test,
        ));
    }
    diff
}

/// At scikit-learn's exact optimum (tol = 1e-10) and ours (largest component of the mean
/// objective's gradient ≤ 1e-11, ≤ 6e-9 on the summed one), every solver sits within
/// ~1e-8/alpha of the same strictly convex minimum, so probabilities agree to far better than
/// 1e-6 and coefficients to better than 1e-4 (the weakest case is alpha = 1e-4). All our
/// solvers are held to it where they apply. (multiclass_tall at alpha = 0.1: 2e-6, where
/// scikit-learn's own reference stopped on its change in `f` with a summed gradient of 7e-6.)
#[test]
fn matches_scikit_learn_at_the_optimum() {
    for name in FIXTURES {
        let fx = fixture(name);
        for reference in fx.fits.iter() {
            assert!(
                reference.n_iter < reference.max_iter,
                "{name}: scikit-learn did not converge"
            );
            for solver in solvers_for(reference) {
                // linfa-logistic also stops when the loss stops changing by more than f64::EPSILON,
                // which on these problems happens between gradient norms of 1e-8 and 1e-6.
                let tolerance = if solver == Solver::Linfa { 1e-8 } else { 1e-11 };
                let p = params(
                    reference.alpha,
                    reference.fit_intercept,
                    solver,
                    tolerance,
                    100_000,
                );
                let (diff, model) = compare(&fx, reference, &p);
                let what = format!(
                    "{name} alpha={} intercept={} {solver:?}",
                    reference.alpha, reference.fit_intercept
                );
                assert!(
                    model.convergence().converged,
                    "{what}: {}",
                    model.convergence().message
                );
                let limit = if name == "multiclass_tall" {
                    2e-6
                } else {
                    1e-6
                };
                assert!(diff <= limit, "{what}: max |Δp| = {diff:e}");
                assert_optimum_matches(&what, reference, &model);
            }
        }
    }
}

/// With default settings (scikit-learn's default test: tol = 1e-4 on the largest component of
/// the *mean* objective's gradient) we compare against scikit-learn's exact optimum. The
/// tolerance leaves a summed gradient of up to 1e-4 · rows, so the distance to the optimum
/// grows with the rows and as alpha shrinks: measured, max |Δp| ≤ 5.0e-3 (binary_tall, 500
/// rows, L-BFGS), ≤ 2.2e-3 elsewhere. Not at alpha = 1e-4, where scikit-learn's own default
/// stops 14 iterations in, far from the optimum (`scripts/gen-model-fixtures.py`).
#[test]
fn default_settings_agree_with_scikit_learn_within_1e_2() {
    for name in FIXTURES {
        let fx = fixture(name);
        for reference in fx.fits.iter().filter(|r| r.alpha >= 1.0) {
            for solver in solvers_for(reference) {
                let model = default_fit(&fx, reference.alpha, reference.fit_intercept, solver);
                let diff = proba_diff(&fx, reference, &model);
                let what = format!("{name} alpha={} {solver:?}", reference.alpha);
                assert!(
                    model.convergence().converged,
                    "{what}: {}",
                    model.convergence().message
                );
                assert!(diff <= 1e-2, "{what}: max |Δp| = {diff:e}");
            }
        }
    }
}

/// A fit of `name` at the default tolerance and iterations (`1e-4`, 100) on its dense rows,
/// computed once for all the tests that check it.
fn default_fit(fx: &Fixture, alpha: f64, fit_intercept: bool, solver: Solver) -> FittedModel {
    type Key = (String, u64, bool, &'static str);
    static FITS: std::sync::Mutex<std::collections::BTreeMap<Key, FittedModel>> =
        std::sync::Mutex::new(std::collections::BTreeMap::new());
    let key = (
        fx.name.clone(),
        alpha.to_bits(),
        fit_intercept,
        solver.as_str(),
    );
    if let Some(model) = FITS.lock().unwrap().get(&key) {
        return model.clone();
    }
    let model = params(alpha, fit_intercept, solver, 1e-4, 100)
        .fit(fx.x.dense().view(), &fx.y, fx.n_classes)
        .unwrap();
    FITS.lock().unwrap().insert(key, model.clone());
    model
}

/// Fixtures of `class_weight = "balanced"` fits (and an unweighted one beside them), kept
/// apart from [`FIXTURES`], whose fits the other tests assume unweighted.
const WEIGHTED_FIXTURES: [&str; 3] = [
    "binary_balanced",
    "binary_balanced_bow",
    "multiclass_balanced",
];

/// `reference`'s settings, its class weights included, for `solver`.
fn reference_params(
    reference: &Reference,
    solver: SolverChoice,
    tolerance: f64,
    max_iterations: u64,
) -> ModelConfig {
    RawModelConfig {
        alpha: reference.alpha,
        max_iterations,
        gradient_tolerance: tolerance,
        fit_intercept: reference.fit_intercept,
        solver,
        per_group: false,
        class_weight: reference.class_weight,
    }
    .check()
    .unwrap()
}

/// Balanced class weights reach scikit-learn's `LogisticRegression(class_weight="balanced")`
/// to the same tolerances as unweighted fits (see `matches_scikit_learn_at_the_optimum`),
/// through both our solvers and through `auto`, which never gives weighted rows to
/// linfa-logistic (it takes no sample weights); at the default tolerance within 1e-2.
#[test]
fn balanced_class_weights_match_scikit_learn() {
    for name in WEIGHTED_FIXTURES {
        let fx = fixture(name);
        let x = fx.x.dense();
        let csr = csr(&x);
        for reference in &fx.fits {
            assert!(reference.n_iter < reference.max_iter, "{name}");
            // `auto` on the unweighted fits is linfa-logistic, held to its own tolerance elsewhere.
            let choices: &[SolverChoice] = match reference.class_weight {
                ClassWeight::Balanced => &[
                    SolverChoice::Auto,
                    SolverChoice::Lbfgs,
                    SolverChoice::Newton,
                ],
                ClassWeight::None => &[SolverChoice::Lbfgs, SolverChoice::Newton],
            };
            for &choice in choices {
                let what = format!(
                    "{name} alpha={} intercept={} {:?} {choice:?}",
                    reference.alpha, reference.fit_intercept, reference.class_weight
                );
                let p = reference_params(reference, choice, 1e-11, 100_000);
                let model = p.fit_csr(&csr, &fx.y, fx.n_classes).unwrap();
                assert!(
                    model.convergence().converged,
                    "{what}: {}",
                    model.convergence().message
                );
                if reference.class_weight == ClassWeight::Balanced {
                    assert_ne!(model.solver(), Solver::Linfa, "{what}");
                }
                let diff = proba_diff(&fx, reference, &model);
                assert!(diff <= 1e-6, "{what}: max |Δp| = {diff:e}");
                assert_optimum_matches(&what, reference, &model);
                let default = reference_params(reference, choice, 1e-4, 100)
                    .fit(x.view(), &fx.y, fx.n_classes)
                    .unwrap();
                assert!(default.convergence().converged, "{what}");
                let diff = proba_diff(&fx, reference, &default);
                assert!(
                    diff <= 1e-2,
                    "{what}, default settings: max |Δp| = {diff:e}"
                );
            }
        }
    }
}

/// The weights change the fit: the balanced and unweighted references differ, and so do ours.
#[test]
fn balanced_weights_move_the_minority_class_up() {
    let fx = fixture("binary_balanced");
    let (balanced, plain) = (&fx.fits[0], &fx.fits[2]);
    assert_eq!(
        (balanced.class_weight, plain.class_weight),
        (ClassWeight::Balanced, ClassWeight::None)
    );
    let x = csr(&fx.x.dense());
    let minority_mean = |reference: &Reference| {
        let model = reference_params(reference, SolverChoice::Auto, 1e-8, 10_000)
            .fit_csr(&x, &fx.y, fx.n_classes)
            .unwrap();
        let p = model.predict_proba(&x).unwrap();
        p.column(0).mean().unwrap()
    };
    // Class 0 holds 4 of 14 rows: weighted, its mean probability rises.
    assert!(minority_mean(balanced) > minority_mean(plain) + 0.05);
}

/// Our two solvers, and linfa-logistic for two classes (its multinomial model is wrong).
fn solvers_for(reference: &Reference) -> Vec<Solver> {
    let mut solvers = vec![Solver::Lbfgs, Solver::Newton];
    if reference.classes.len() == 2 {
        solvers.push(Solver::Linfa);
    }
    solvers
}

#[test]
fn linfa_binary_maps_its_positive_class_back() {
    // linfa-logistic calls the more frequent class "positive"; whichever it is, our single
    // coefficient set is the logit of class 1 and the probabilities match scikit-learn's.
    for name in ["binary_minority_0", "binary_minority_1"] {
        let fx = fixture(name);
        let reference = &fx.fits[0];
        let (diff, model) = compare(
            &fx,
            reference,
            &params(1.0, true, Solver::Linfa, 1e-8, 10_000),
        );
        assert_eq!(model.solver(), Solver::Linfa);
        assert_eq!(model.logit_class(), Some(1), "{name}");
        assert_eq!(model.set_classes(), &[1], "{name}");
        assert!(diff <= 1e-6, "{name}: max |Δp| = {diff:e}");
        let coef = &reference.coef[0];
        let w = model.weights_for(1).unwrap();
        assert!(
            w.iter().zip(coef).all(|(a, b)| a.signum() == b.signum()),
            "{name}"
        );
        assert!(model.weights_for(0).is_none());
    }
}

#[test]
fn linfa_multinomial_stops_early_and_we_say_so() {
    // notes/linfa-multinomial.md: at alpha = 1e-4 on 300 tweets, linfa-logistic 0.8.1's
    // MultiLogisticRegression ends its line search after ~19 iterations with a wrong loss.
    let fx = fixture("multiclass_bow");
    let reference = fx.fits.iter().find(|r| r.alpha == 1e-4).unwrap();
    let (linfa_diff, linfa) = compare(
        &fx,
        reference,
        &params(1e-4, true, Solver::Linfa, 1e-7, 1000),
    );
    assert!(
        !linfa.convergence().converged,
        "{}",
        linfa.convergence().message
    );
    assert!(linfa.convergence().message.starts_with("not converged"));
    assert_eq!(linfa.convergence().iterations, None);
    assert!(
        linfa_diff > 1e-2,
        "linfa now agrees (max |Δp| = {linfa_diff:e}); revisit the notes"
    );

    let (diff, ours) = compare(
        &fx,
        reference,
        &params(1e-4, true, Solver::Lbfgs, 1e-7, 1000),
    );
    assert_eq!(ours.solver(), Solver::Lbfgs);
    assert!(
        ours.convergence().converged,
        "{}",
        ours.convergence().message
    );
    assert!(ours.convergence().iterations.is_some_and(|i| i > 0));
    assert!(diff <= 1e-3, "max |Δp| = {diff:e}");
}

/// A fit that stops above the tolerance says where it stopped, and how large the summed
/// objective's gradient was, overall and per row.
#[test]
fn a_miss_names_the_summed_gradient_too() {
    assert_eq!(
        super::solvers::per_row_note(2.39e-2, 1_511),
        "; ‖∇F‖₂ of the summed objective is 2.39e-2, 1.6e-5 per row"
    );
    assert_eq!(
        super::solvers::per_row_note(1.0, 0),
        "; ‖∇F‖₂ of the summed objective is 1.00e0, 1.0e0 per row"
    );
}

#[test]
fn exhausted_iterations_are_reported() {
    let fx = fixture("multiclass_bow");
    let x = fx.x.dense();
    for solver in [Solver::Lbfgs, Solver::Linfa, Solver::Newton] {
        let model = params(1.0, true, solver, 1e-8, 2)
            .fit(x.view(), &fx.y, 3)
            .unwrap();
        let convergence = model.convergence();
        assert!(!convergence.converged, "{solver:?}");
        assert!(convergence.gradient_norm > convergence.tolerance);
        assert!(
            convergence.message.starts_with("not converged"),
            "{}",
            convergence.message
        );
        if solver != Solver::Linfa {
            assert_eq!(convergence.iterations, Some(2));
            assert!(
                convergence.message.contains("max_iterations = 2"),
                "{}",
                convergence.message
            );
        }
    }
}

#[test]
fn absent_classes_get_probability_zero() {
    let fx = fixture("absent_class");
    let x = fx.x.dense();
    for solver in [Solver::Lbfgs, Solver::Linfa, Solver::Newton] {
        let model = params(1.0, true, solver, 1e-6, 1000)
            .fit(x.view(), &fx.y, 3)
            .unwrap();
        assert_eq!(model.classes(), &[0, 2]);
        assert_eq!(model.logit_class(), Some(2));
        let proba = model.predict_proba(&csr(&x)).unwrap();
        assert_eq!(proba.ncols(), 3);
        assert!(proba.column(1).iter().all(|&p| p == 0.0));
    }
}

// ---------------------------------------------------------------------------------------
// Bad input and saved models

fn small() -> (Array2<f64>, Vec<usize>) {
    (
        array![[1.0, 0.0], [0.0, 1.0], [2.0, 0.0], [0.0, 2.0]],
        vec![0, 1, 0, 1],
    )
}

/// The non-zero entries of `x` as sparse rows, with an explicit zero added at `zero` (a cell
/// of `x` that is 0), as hashed features with cancelling signs hold.
/// The sparse rows of `x`.
fn csr(x: &Array2<f64>) -> CsrMatrix {
    csr_of(x, None)
}

fn csr_of(x: &Array2<f64>, zero: Option<(usize, usize)>) -> CsrMatrix {
    let rows: Vec<Vec<(u32, f64)>> = x
        .outer_iter()
        .enumerate()
        .map(|(i, row)| {
            row.iter()
                .enumerate()
                .filter(|&(j, &v)| v != 0.0 || zero == Some((i, j)))
                .map(|(j, &v)| (j as u32, v))
                .collect()
        })
        .collect();
    CsrMatrix::from_rows(x.ncols(), &rows)
}

#[test]
fn fitting_sparse_rows_is_fitting_dense_ones() {
    for name in FIXTURES {
        let fx = fixture(name);
        let x = fx.x.dense();
        let zero = x
            .indexed_iter()
            .find(|&(_, &v)| v == 0.0)
            .map(|(cell, _)| cell);
        let csr = csr_of(&x, zero);
        for solver in [Solver::Lbfgs, Solver::Linfa, Solver::Newton] {
            let dense = default_fit(&fx, 1.0, true, solver);
            let sparse = params(1.0, true, solver, 1e-4, 100)
                .fit_csr(&csr, &fx.y, fx.n_classes)
                .unwrap();
            assert_eq!(sparse, dense, "{name}, {solver:?}");
        }
    }
}

/// The probabilities of the dense rows `x`, computed here from the model's arrays with
/// ndarray's matrix product, independently of the scorer.
fn dense_proba(model: &FittedModel, x: &Array2<f64>) -> Array2<f64> {
    let scores = x.dot(&model.weights().t()) + model.intercepts();
    let mut proba = Array2::zeros((x.nrows(), model.n_classes()));
    for (i, row) in scores.outer_iter().enumerate() {
        match *model.classes() {
            [negative, positive] => {
                proba[[i, positive]] = 1.0 / (1.0 + (-row[0]).exp());
                proba[[i, negative]] = 1.0 / (1.0 + row[0].exp());
            }
            ref classes => {
                let total: f64 = row.iter().map(|s| s.exp()).sum();
                for (&class, score) in classes.iter().zip(row) {
                    proba[[i, class]] = score.exp() / total;
                }
            }
        }
    }
    proba
}

#[test]
fn scoring_sparse_rows_is_scoring_dense_ones() {
    for name in FIXTURES {
        let fx = fixture(name);
        let x = fx.x.dense();
        let nnz = x.iter().filter(|&&v| v != 0.0).count();
        let present = fx.y.iter().collect::<std::collections::BTreeSet<_>>().len();
        let solver = SolverChoice::Auto.for_training(present, x.nrows(), x.ncols(), nnz);
        let model = default_fit(&fx, 1.0, true, solver);
        let dense = dense_proba(&model, &x);
        let sparse = model.predict_proba(&csr_of(&x, None)).unwrap();
        let diff = (&dense - &sparse)
            .iter()
            .fold(0.0, |m: f64, d| m.max(d.abs()));
        assert!(diff <= 1e-12, "{name}: {diff:e}");
    }
    let (x, y) = small();
    let model = ModelConfig::default().fit(x.view(), &y, 2).unwrap();
    let err = model
        .predict_proba(&csr_of(&Array2::zeros((1, 3)), None))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the model has 2 features but the matrix has 3 columns"
    );
    let mut bad = x.clone();
    bad[[1, 1]] = f64::NAN;
    let err = model.predict_proba(&csr_of(&bad, None)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "feature 1 of row 1 is NaN, not a finite number"
    );
}

#[test]
fn bad_training_input_is_an_error_not_a_panic() {
    fn check(x: Array2<f64>, y: &[usize], n_classes: usize, expected: &str) {
        for solver in [Solver::Lbfgs, Solver::Linfa, Solver::Newton] {
            let p = RawModelConfig {
                solver: choice(solver),
                ..RawModelConfig::default()
            }
            .check()
            .unwrap();
            let err = p.fit(x.view(), y, n_classes).unwrap_err();
            assert_eq!(err.to_string(), expected);
            let err = p.fit_csr(&csr_of(&x, None), y, n_classes).unwrap_err();
            assert_eq!(err.to_string(), expected, "sparse rows");
        }
    }
    let (x, _) = small();
    check(
        x.clone(),
        &[0, 0, 0, 0],
        2,
        "the training rows all belong to class 0; fitting needs at least two classes",
    );
    check(
        x.clone(),
        &[1, 1, 1, 1],
        3,
        "the training rows all belong to class 1; fitting needs at least two classes",
    );
    check(
        x.clone(),
        &[0, 1, 0],
        2,
        "the feature matrix has 4 rows but 3 labels were given",
    );
    check(
        x.clone(),
        &[0, 1, 0, 2],
        2,
        "label 2 of row 3 is not below n_classes = 2",
    );
    check(
        x.clone(),
        &[0, 0, 0, 0],
        1,
        "n_classes must be at least 2, got 1",
    );
    check(Array2::zeros((0, 2)), &[], 2, "no training rows");
    let mut nan = x;
    nan[[2, 1]] = f64::NAN;
    check(
        nan,
        &[0, 1, 0, 1],
        2,
        "feature 1 of row 2 is NaN, not a finite number",
    );
}

#[test]
fn prediction_checks_its_input() {
    let (x, y) = small();
    let model = ModelConfig::default().fit(x.view(), &y, 2).unwrap();
    let err = model
        .predict_proba(&csr(&Array2::zeros((1, 3))))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the model has 2 features but the matrix has 3 columns"
    );
    let err = model
        .predict_proba(&csr(&array![[f64::INFINITY, 0.0]]))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "feature 0 of row 0 is inf, not a finite number"
    );
    assert_eq!(
        model
            .predict_proba(&csr(&Array2::zeros((0, 2))))
            .unwrap()
            .dim(),
        (0, 2)
    );
}

#[test]
fn no_features_fits_the_class_frequencies() {
    // Only intercepts: the optimum is the training log-odds, p(class 1) = 3/4.
    let x = Array2::zeros((4, 0));
    for solver in [Solver::Linfa, Solver::Lbfgs, Solver::Newton] {
        let p = params(1.0, true, solver, 1e-8, 1000);
        let model = p.fit(x.view(), &[0, 1, 1, 1], 2).unwrap();
        let proba = model.predict_proba(&csr(&x)).unwrap();
        assert!((proba[[0, 1]] - 0.75).abs() < 1e-6, "{solver:?}: {proba}");
    }
}

#[test]
fn saved_parts_round_trip_and_are_checked() {
    let (x, y) = small();
    let model = ModelConfig::default().fit(x.view(), &y, 2).unwrap();
    let proba = model.predict_proba(&csr(&x)).unwrap();
    let loaded = FittedModel::from_parts(model.clone().into_parts()).unwrap();
    assert_eq!(loaded, model);
    assert_eq!(loaded.predict_proba(&csr(&x)).unwrap(), proba);

    fn check(edit: impl FnOnce(&mut ModelParts), expected: &str) {
        let (x, y) = small();
        let mut parts = ModelConfig::default()
            .fit(x.view(), &y, 2)
            .unwrap()
            .into_parts();
        edit(&mut parts);
        assert_eq!(
            FittedModel::from_parts(parts).unwrap_err().to_string(),
            format!("invalid model: {expected}")
        );
    }
    check(
        |p| p.classes = vec![1],
        "1 classes listed, at least 2 needed",
    );
    check(
        |p| p.classes = vec![1, 0],
        "classes [1, 0] are not strictly ascending",
    );
    check(
        |p| p.classes = vec![0, 2],
        "class 2 is not below n_classes = 2",
    );
    check(
        |p| p.weights = Array2::zeros((2, 2)),
        "weights have 2 coefficient sets, expected 1 for 2 classes",
    );
    check(
        |p| p.intercepts = Array1::zeros(2),
        "2 intercepts, expected 1",
    );
    check(
        |p| p.weights[[0, 0]] = f64::NAN,
        "weights or intercepts are not all finite",
    );
}

#[test]
fn multinomial_parts_score_their_own_classes() {
    let parts = ModelParts {
        n_classes: 3,
        classes: vec![0, 1, 2],
        weights: array![[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]],
        intercepts: array![0.0, 0.0, 0.0],
        solver: Solver::Lbfgs,
        convergence: Convergence {
            converged: true,
            gradient_norm: 0.0,
            tolerance: 1e-4,
            iterations: None,
            message: String::new(),
        },
    };
    let model = FittedModel::from_parts(parts).unwrap();
    assert_eq!(model.logit_class(), None);
    // Scores (ln 2, 0, 0) give probabilities (1/2, 1/4, 1/4).
    let proba = model
        .predict_proba(&csr(&array![[f64::ln(2.0), 0.0]]))
        .unwrap();
    for (p, expected) in proba.iter().zip([0.5, 0.25, 0.25]) {
        assert!((p - expected).abs() < 1e-12);
    }
    assert_eq!(model.weights_for(1).unwrap().to_vec(), vec![0.0, 1.0]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn probabilities_are_distributions(
        rows in 2usize..12,
        cols in 0usize..6,
        n_classes in 2usize..5,
        seed in any::<u64>(),
        solver in prop_oneof![Just(Solver::Lbfgs), Just(Solver::Linfa), Just(Solver::Newton)],
    ) {
        let mut state = seed | 1;
        let mut next = move || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
        let x = Array2::from_shape_fn((rows, cols), |_| (next() % 4) as f64);
        let y: Vec<usize> = (0..rows).map(|i| if i < 2 { i } else { (next() % n_classes as u64) as usize }).collect();
        let p = RawModelConfig { solver: choice(solver), ..RawModelConfig::default() }.check().unwrap();
        let model = p.fit(x.view(), &y, n_classes).unwrap();
        let proba = model.predict_proba(&csr(&x)).unwrap();
        prop_assert_eq!(proba.dim(), (rows, n_classes));
        for row in proba.outer_iter() {
            prop_assert!(row.iter().all(|&p| (0.0..=1.0).contains(&p)));
            prop_assert!((row.sum() - 1.0).abs() < 1e-12);
        }
    }
}

#[test]
fn row_space_and_full_space_reach_the_same_optimum() {
    // fit_lbfgs picks the row-space reduction by size; force each way on every fixture with
    // fewer rows than features, where the row space is a proper subspace. (On the tall
    // fixtures it is the whole feature space: the reduction would be a mere rotation, never
    // chosen, and at 500 rows its dense basis costs tens of seconds in a debug build.)
    // The weighted fixtures' first fits are balanced: the reduction keeps row weights too.
    for name in FIXTURES.into_iter().chain(WEIGHTED_FIXTURES) {
        let fx = fixture(name);
        let x = fx.x.dense();
        let sparse = objective::SparseRows::from_dense(x.view());
        let data = solvers::TrainingSet::new(x.view(), &fx.y, fx.n_classes)
            .unwrap()
            .weighted(fx.fits[0].class_weight);
        let reductions: &[bool] = if x.nrows() < x.ncols() {
            &[false, true]
        } else {
            &[false]
        };
        let first = fx.fits[0].class_weight;
        for reference in fx.fits.iter().filter(|r| r.class_weight == first) {
            let p = reference_params(reference, SolverChoice::Lbfgs, 1e-10, 100_000);
            for &reduce in reductions {
                let model = solvers::fit_lbfgs_in(&p, &data, &sparse, reduce, None);
                let what = format!("{name} alpha={} reduce={reduce}", reference.alpha);
                assert!(
                    model.convergence().converged,
                    "{what}: {}",
                    model.convergence().message
                );
                let diff = max_abs_diff(
                    &model.predict_proba(&csr(&x)).unwrap(),
                    &reference.proba_train,
                );
                assert!(diff <= 1e-6, "{what}: max |Δp| = {diff:e}");
            }
        }
    }
}

/// A warm start (the alpha path's previous solution, or a fit on a subset of the rows, as
/// the learning curve has) reaches the same optimum as a cold start, in fewer iterations.
#[test]
fn warm_starts_reach_the_same_optimum_sooner() {
    fn check(name: &str, start_alpha: f64, start_rows: usize, solver: Solver) {
        let fx = fixture(name);
        let reference = &fx.fits[0];
        let x = fx.x.dense();
        let csr = csr_of(&x, None);
        let p = params(
            reference.alpha,
            reference.fit_intercept,
            solver,
            1e-10,
            100_000,
        );
        let subset = csr_of(&x.slice(ndarray::s![..start_rows, ..]).to_owned(), None);
        let start = params(start_alpha, reference.fit_intercept, solver, 1e-4, 1000)
            .fit_csr(&subset, &fx.y[..start_rows], fx.n_classes)
            .unwrap();
        let cold = p.fit_csr(&csr, &fx.y, fx.n_classes).unwrap();
        let warm = p
            .fit_csr_from(&csr, &fx.y, fx.n_classes, Some(&start))
            .unwrap();
        let what = format!("{name} {solver:?}");
        assert!(warm.convergence().converged, "{what}");
        let diff = max_abs_diff(&warm.predict_proba(&csr).unwrap(), &reference.proba_train);
        assert!(diff <= 1e-6, "{what}: max |Δp| = {diff:e}");
        let (cold_iterations, warm_iterations) = (
            cold.convergence().iterations.unwrap(),
            warm.convergence().iterations.unwrap(),
        );
        assert!(
            warm_iterations < cold_iterations,
            "{what}: warm {warm_iterations}, cold {cold_iterations}; {} / {}",
            warm.convergence().message,
            cold.convergence().message
        );
    }
    for solver in [Solver::Newton, Solver::Lbfgs] {
        // binary_bow_wide's first fit is at alpha = 1: start from alpha = 2 on all rows.
        check("binary_bow_wide", 2.0, 20, solver);
        // multiclass_tall's first fit: start from the first 500 of its 560 rows.
        check("multiclass_tall", 1.0, 550, solver);
    }
}

#[test]
fn a_warm_start_of_another_shape_is_refused() {
    let (x, y) = small();
    let csr = csr_of(&x, None);
    let p = params(1.0, true, Solver::Newton, 1e-4, 100);
    let model = p.fit_csr(&csr, &y, 2).unwrap();
    let wider = csr_of(&Array2::zeros((4, 3)), None);
    let err = p.fit_csr_from(&wider, &y, 2, Some(&model)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid model: a warm start must have the training matrix's 3 features and its classes \
         [0, 1]; it has 2 features and classes [0, 1]"
    );
}
