//! Truncated Newton for the penalised logistic objective on sparse rows (liblinear's primal
//! solver for logistic regression; scikit-learn's `newton-cg` for the multinomial case).
//!
//! It takes an [`Objective`] and a starting point (zero, or a warm start) and hands back the
//! last point with why it stopped. Each iteration evaluates `F` and `∇F` once (one pass over
//! the rows), then solves `∇²F·d = −∇F` approximately by preconditioned conjugate gradients,
//! each product `∇²F·v` one more pass over the rows (`Objective::hessian_vector`); the
//! Hessian is never formed, and nothing here is larger than a coefficient vector.
//!
//! The globalisation is a backtracking line search on the Newton direction rather than
//! TRON's trust region: liblinear made that switch in version 2.40 after Galli & Lin (2021,
//! "A study on truncated Newton methods for linear classification") found it at least as
//! fast on text data, and it is simpler to get right. Conjugate gradients stop on the
//! quadratic model's relative decrease (Nash & Sofer's rule, liblinear's `eps_cg = 0.5`) and
//! are preconditioned by the Hessian's diagonal mixed with the penalty (Hsia, Chiang & Lin
//! 2018), which pays on counts whose columns differ in scale by orders of magnitude.

use super::objective::{GradientNorms, Objective};

/// Sufficient decrease of the line search (liblinear's `eta`).
const ARMIJO: f64 = 0.01;
/// Step halvings one line search may try.
const MAX_LINE_SEARCH_STEPS: usize = 20;
/// Conjugate-gradient stopping constant (liblinear's `eps_cg`).
const CG_RELATIVE_DECREASE: f64 = 0.5;
/// Relative size of the rounding noise in `F` (as in `lbfgs`).
const ROUNDING: f64 = 1e-10;
/// Share of the Hessian's diagonal in the preconditioner (liblinear's `alpha_pcg`): the
/// rest is the penalty alone.
const PRECONDITIONER_MIX: f64 = 0.01;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// Newton iterations.
    pub(crate) max_iterations: u64,
    /// Largest acceptable `‖∇F‖∞` of the summed objective.
    pub(crate) largest_gradient: f64,
    /// Conjugate-gradient steps one Newton iteration may take.
    pub(crate) max_cg_steps: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// `‖∇F‖∞ ≤ largest_gradient`.
    GradientTolerance,
    MaxIterations,
    /// No step along the Newton direction lowered `F`: it cannot be lowered further in
    /// floating point.
    LineSearch,
}

#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) theta: Vec<f64>,
    pub(crate) iterations: u64,
    /// Hessian-vector products, over all iterations.
    pub(crate) cg_steps: u64,
    pub(crate) stop: Stop,
}

/// Minimises `objective` from `theta`.
pub(crate) fn minimize(objective: &mut Objective, theta: Vec<f64>, settings: &Settings) -> Outcome {
    let n = theta.len();
    let mut x = theta;
    let mut g = vec![0.0; n];
    let mut f = objective.value_and_gradient(&x, &mut g);
    let mut x_trial = vec![0.0; n];
    let mut g_trial = vec![0.0; n];
    let mut direction = vec![0.0; n];
    let mut cg = Cg::new(n);
    let mut iterations = 0;
    let mut cg_steps = 0;
    let stop = loop {
        if GradientNorms::of(&g).largest <= settings.largest_gradient {
            break Stop::GradientTolerance;
        }
        if iterations >= settings.max_iterations {
            break Stop::MaxIterations;
        }
        let curvature = objective.curvature();
        let mut preconditioner = vec![0.0; n];
        objective.hessian_diagonal(&curvature, &mut preconditioner);
        // liblinear's mix, in our scaling: `(1 − a)·α + a·diag(∇²F)`; without a penalty the
        // smallest curvature stands in for it, so that no entry is 0.
        let floor = if objective.alpha() > 0.0 {
            objective.alpha()
        } else {
            smallest_positive(&preconditioner)
        };
        for m in preconditioner.iter_mut() {
            *m = (1.0 - PRECONDITIONER_MIX) * floor + PRECONDITIONER_MIX * *m;
        }
        cg_steps += cg.solve(
            |v, out| objective.hessian_vector(&curvature, v, out),
            &g,
            &preconditioner,
            settings.max_cg_steps,
            &mut direction,
        ) as u64;

        // Backtracking from the full Newton step.
        let slope: f64 = g.iter().zip(&direction).map(|(g, d)| g * d).sum();
        if slope.is_nan() || slope >= 0.0 {
            // No descent direction left (the gradient is rounding noise): nowhere to go.
            iterations += 1;
            break Stop::LineSearch;
        }
        let largest = GradientNorms::of(&g).largest;
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..MAX_LINE_SEARCH_STEPS {
            for ((t, xi), d) in x_trial.iter_mut().zip(&x).zip(&direction) {
                *t = xi + step * d;
            }
            let f_trial = objective.value_and_gradient(&x_trial, &mut g_trial);
            let decrease = f_trial <= f + ARMIJO * step * slope;
            // Near the minimum the decrease drowns in the rounding of `f` while the gradient
            // still shrinks: a step is then accepted on the gradient alone.
            let flat =
                f_trial <= f + ROUNDING * f.abs() && GradientNorms::of(&g_trial).largest < largest;
            if f_trial.is_finite() && (decrease || flat) {
                accepted = Some(f_trial);
                break;
            }
            step *= 0.5;
        }
        iterations += 1;
        let Some(f_new) = accepted else {
            // Leave the objective's state at `x`, where the caller reads it.
            objective.value_and_gradient(&x, &mut g);
            break Stop::LineSearch;
        };
        std::mem::swap(&mut x, &mut x_trial);
        std::mem::swap(&mut g, &mut g_trial);
        f = f_new;
    };
    Outcome {
        theta: x,
        iterations,
        cg_steps,
        stop,
    }
}

/// The smallest positive entry of the Hessian's diagonal, or 1.
fn smallest_positive(diagonal: &[f64]) -> f64 {
    let smallest = diagonal
        .iter()
        .copied()
        .filter(|&d| d > 0.0)
        .fold(f64::INFINITY, f64::min);
    if smallest.is_finite() { smallest } else { 1.0 }
}

/// Work vectors of preconditioned conjugate gradients, kept across iterations.
struct Cg {
    residual: Vec<f64>,
    preconditioned: Vec<f64>,
    search: Vec<f64>,
    product: Vec<f64>,
}

impl Cg {
    fn new(n: usize) -> Cg {
        Cg {
            residual: vec![0.0; n],
            preconditioned: vec![0.0; n],
            search: vec![0.0; n],
            product: vec![0.0; n],
        }
    }

    /// Approximately solves `H·s = −g` into `s` from `s = 0`, with `hv(v, out)` computing
    /// `out = H·v` and `m` the diagonal preconditioner; returns the products taken.
    fn solve(
        &mut self,
        mut hv: impl FnMut(&[f64], &mut [f64]),
        g: &[f64],
        m: &[f64],
        max_steps: usize,
        s: &mut [f64],
    ) -> usize {
        let Cg {
            residual: r,
            preconditioned: z,
            search: d,
            product: hd,
        } = self;
        s.fill(0.0);
        for i in 0..g.len() {
            r[i] = -g[i];
            z[i] = r[i] / m[i];
            d[i] = z[i];
        }
        let mut zr = dot(z, r);
        // Q(s) = gᵀs + sᵀHs/2, the quadratic model; it only decreases.
        let mut q = 0.0;
        let mut steps = 0;
        while steps < max_steps {
            steps += 1;
            hv(d, hd);
            let dhd = dot(d, hd);
            if dhd <= 0.0 {
                break;
            }
            let a = zr / dhd;
            axpy(a, d, s);
            axpy(-a, hd, r);
            // With r = −g − H·s: Q(s) = −(sᵀr − sᵀg)/2.
            let q_new = -0.5 * (dot(s, r) - dot(s, g));
            let q_diff = q_new - q;
            if q_new > 0.0 || q_diff > 0.0 {
                break;
            }
            if steps as f64 * q_diff >= CG_RELATIVE_DECREASE * q_new {
                break;
            }
            q = q_new;
            for i in 0..z.len() {
                z[i] = r[i] / m[i];
            }
            let zr_new = dot(z, r);
            let b = zr_new / zr;
            zr = zr_new;
            for i in 0..d.len() {
                d[i] = z[i] + b * d[i];
            }
        }
        steps
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    ndarray::aview1(a).dot(&ndarray::aview1(b))
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::super::objective::{Link, SparseRows};
    use super::*;

    fn settings(largest_gradient: f64) -> Settings {
        Settings {
            max_iterations: 100,
            largest_gradient,
            max_cg_steps: 200,
        }
    }

    #[test]
    fn reaches_the_tolerance_and_a_warm_start_needs_fewer_steps() {
        let x = array![
            [1.0, 0.0, 2.0, 0.0],
            [0.0, 3.0, 0.0, 1.0],
            [1.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 0.5, 2.0],
            [2.0, 0.0, 1.0, 1.0],
            [0.0, 1.0, 1.0, 0.0]
        ];
        let sparse = SparseRows::from_dense(x.view());
        for (link, targets) in [
            (Link::Logistic, vec![1, 0, 1, 0, 1, 0]),
            (Link::Softmax { n_sets: 3 }, vec![0, 1, 2, 0, 1, 2]),
        ] {
            let mut objective = Objective::new(&sparse, &targets, link, 0.1, true);
            let start = vec![0.0; objective.dimension()];
            let cold = minimize(&mut objective, start, &settings(1e-10));
            assert_eq!(cold.stop, Stop::GradientTolerance, "{link:?}");
            assert!(objective.gradient_norms(&cold.theta).largest <= 1e-10);
            let warm = minimize(&mut objective, cold.theta.clone(), &settings(1e-10));
            assert_eq!((warm.stop, warm.iterations), (Stop::GradientTolerance, 0));
        }
    }

    #[test]
    fn exhausted_iterations_are_reported() {
        let x = array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]];
        let sparse = SparseRows::from_dense(x.view());
        let targets = [1, 1, 0, 0];
        let mut objective = Objective::new(&sparse, &targets, Link::Logistic, 1e-3, true);
        let start = vec![0.0; objective.dimension()];
        let outcome = minimize(
            &mut objective,
            start,
            &Settings {
                max_iterations: 1,
                ..settings(1e-14)
            },
        );
        assert_eq!((outcome.stop, outcome.iterations), (Stop::MaxIterations, 1));
    }
}
