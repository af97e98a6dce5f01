//! Truncated Newton for the penalised logistic objective on sparse rows (liblinear's primal
//! solver for logistic regression; scikit-learn's `newton-cg` for the multinomial case).
//!
//! It takes an [`Objective`] and a starting point (zero, or a warm start) and hands back the
//! last point with why it stopped. Each iteration evaluates `F` and `∇F` once (one pass over
//! the rows), then solves `∇²F·d = −∇F` approximately by preconditioned conjugate gradients,
//! each product `∇²F·v` one more pass over the rows (`Objective::hessian_vector`); the
//! Hessian is never formed, and nothing here is larger than a coefficient vector.
//!
//! The globalisation is a line search on the Newton direction rather than TRON's trust
//! region: liblinear made that switch in version 2.40 after Galli & Lin (2021, "A study on
//! truncated Newton methods for linear classification") found it at least as fast on text
//! data, and it is simpler to get right. The full step is taken when it decreases `F`
//! enough; otherwise the step that minimises `F` along the direction. Neither costs a pass:
//! each product `∇²F·dᵢ` also hands back how `dᵢ` changes the rows' scores, so those of the
//! direction `Σ aᵢ·dᵢ` are known when conjugate gradients end, and `F` along it costs
//! O(rows × sets) per value ([`Objective::ray`]). Conjugate gradients stop on the
//! quadratic model's relative decrease (Nash & Sofer's rule, liblinear's `eps_cg = 0.5`) and,
//! once the gradient is within ten times the tolerance, not before the linear model's gradient
//! after the step is within half of it (so that the step can be the last); they are
//! preconditioned by the Hessian's diagonal mixed with the penalty (Hsia, Chiang & Lin
//! 2018), which pays on counts whose columns differ in scale by orders of magnitude.

use super::objective::{Curvature, GradientNorms, Objective, Ray};

/// Sufficient decrease of the line search (liblinear's `eta`).
const ARMIJO: f64 = 0.01;
/// Step halvings one line search may try.
const MAX_LINE_SEARCH_STEPS: usize = 20;
/// The step along the direction is close enough to `F`'s minimum there once `|φ'(t)|` is
/// within this share of `|φ'(0)|`.
const LINE_SLOPE: f64 = 1e-3;
/// Values of `F` one search for the minimum along the direction may take.
const MAX_RAY_VALUES: usize = 40;
/// Conjugate-gradient stopping constant (liblinear's `eps_cg`).
const CG_RELATIVE_DECREASE: f64 = 0.5;
/// Relative size of the rounding noise in `F` (as in `lbfgs`).
const ROUNDING: f64 = 1e-10;
/// `‖∇F‖∞` within this many times the tolerance: the last stretch, where conjugate
/// gradients also aim at a gradient within the tolerance (see `minimize`).
const TAIL: f64 = 10.0;
/// There, the largest component of the linear model's residual `−∇F − ∇²F·d` that ends
/// conjugate gradients, relative to the tolerance.
const TAIL_RESIDUAL: f64 = 0.5;
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
    // The Hessian's diagonal at `x`, for the preconditioner: computed with `F` and `∇F`.
    let mut diagonal = vec![0.0; n];
    let mut f = objective.value_gradient_and_diagonal(&x, &mut g, &mut diagonal);
    let mut x_trial = vec![0.0; n];
    let mut g_trial = vec![0.0; n];
    let mut diagonal_trial = vec![0.0; n];
    let mut preconditioner = vec![0.0; n];
    let mut direction = vec![0.0; n];
    let mut cg = Cg::new(n);
    // How the rows' scores change along the last product's vector, and along the direction.
    let mut last_scores = vec![0.0; objective.row_scores_len()];
    let mut direction_scores = vec![0.0; objective.row_scores_len()];
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
        // liblinear's mix, in our scaling: `(1 − a)·α + a·diag(∇²F)`; without a penalty the
        // smallest curvature stands in for it, so that no entry is 0.
        let floor = if objective.alpha() > 0.0 {
            objective.alpha()
        } else {
            smallest_positive(&diagonal)
        };
        for (m, d) in preconditioner.iter_mut().zip(&diagonal) {
            *m = (1.0 - PRECONDITIONER_MIX) * floor + PRECONDITIONER_MIX * d;
        }
        // Close to the tolerance, conjugate gradients also continue until the linear model
        // of the gradient after the step is well within it, so that this step can be the
        // last (the quadratic rule alone stops after a few steps there, and iterations then
        // creep towards the tolerance).
        let largest = GradientNorms::of(&g).largest;
        let residual_target = (largest <= TAIL * settings.largest_gradient)
            .then_some(TAIL_RESIDUAL * settings.largest_gradient);
        direction_scores.fill(0.0);
        cg_steps += cg.solve(
            &mut ScoredProducts {
                objective,
                curvature: &curvature,
                last: &mut last_scores,
                along: &mut direction_scores,
            },
            &g,
            &preconditioner,
            settings.max_cg_steps,
            residual_target,
            &mut direction,
        ) as u64;

        let slope: f64 = g.iter().zip(&direction).map(|(g, d)| g * d).sum();
        if slope.is_nan() || slope >= 0.0 {
            // No descent direction left (the gradient is rounding noise): nowhere to go.
            iterations += 1;
            break Stop::LineSearch;
        }
        // The full Newton step if it decreases `F` enough, else the minimum along the
        // direction, both found along the ray (no pass); then `F` and `∇F` there, from the
        // rows, backtracking from that step should the ray's rounding have misled it.
        let mut step = {
            let ray = objective.ray(&x, &direction, &direction_scores);
            let (at_zero, _, _) = ray.at(0.0);
            let (at_one, slope_at_one, _) = ray.at(1.0);
            if at_one <= at_zero + ARMIJO * slope || slope_at_one <= 0.0 {
                1.0
            } else {
                line_minimum(&ray, slope)
            }
        };
        let mut accepted = None;
        for _ in 0..MAX_LINE_SEARCH_STEPS {
            for ((t, xi), d) in x_trial.iter_mut().zip(&x).zip(&direction) {
                *t = xi + step * d;
            }
            let f_trial =
                objective.value_gradient_and_diagonal(&x_trial, &mut g_trial, &mut diagonal_trial);
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
        std::mem::swap(&mut diagonal, &mut diagonal_trial);
        f = f_new;
    };
    Outcome {
        theta: x,
        iterations,
        cg_steps,
        stop,
    }
}

/// The step `t ∈ (0, 1)` that (nearly) minimises `φ(t) = F(x + t·d)`, convex, given
/// `φ'(0) < 0 < φ'(1)`: Newton steps on `φ'`, bisecting whenever one leaves the bracket.
fn line_minimum(ray: &Ray, slope_at_zero: f64) -> f64 {
    let (mut low, mut high) = (0.0, 1.0);
    let mut t = 1.0;
    for _ in 0..MAX_RAY_VALUES {
        let (value, slope, curvature) = ray.at(t);
        if !value.is_finite() || slope.is_nan() {
            high = t;
            t = 0.5 * (low + high);
            continue;
        }
        if slope.abs() <= LINE_SLOPE * slope_at_zero.abs() {
            break;
        }
        if slope < 0.0 {
            low = t;
        } else {
            high = t;
        }
        let newton = t - slope / curvature;
        t = if newton > low && newton < high {
            newton
        } else {
            0.5 * (low + high)
        };
    }
    t
}

/// `∇²F·v` for conjugate gradients, told each step taken along the last `v`.
trait Products {
    fn product(&mut self, v: &[f64], out: &mut [f64]);
    /// The solution moved by `a` times the last `v`.
    fn stepped(&mut self, _a: f64) {}
}

/// Hessian-vector products that also sum how the steps change the rows' scores:
/// `along = Σ aᵢ·X·dᵢ` (with intercepts), the rows' scores along the direction.
struct ScoredProducts<'o, 'a> {
    objective: &'o Objective<'a>,
    curvature: &'o Curvature,
    /// The rows' products with the last `v`.
    last: &'o mut [f64],
    along: &'o mut [f64],
}

impl Products for ScoredProducts<'_, '_> {
    fn product(&mut self, v: &[f64], out: &mut [f64]) {
        self.objective
            .hessian_vector(self.curvature, v, out, Some(self.last));
    }

    fn stepped(&mut self, a: f64) {
        for (s, l) in self.along.iter_mut().zip(self.last.iter()) {
            *s += a * l;
        }
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
    preconditioner_inverse: Vec<f64>,
}

impl Cg {
    fn new(n: usize) -> Cg {
        Cg {
            residual: vec![0.0; n],
            preconditioned: vec![0.0; n],
            search: vec![0.0; n],
            product: vec![0.0; n],
            preconditioner_inverse: vec![0.0; n],
        }
    }

    /// Approximately solves `H·s = −g` into `s` from `s = 0`, with `products` computing
    /// `H·v` and `m` the diagonal preconditioner; returns the products taken. Stops on
    /// the quadratic model's relative decrease, and, given a `residual_target`, not before the
    /// residual's largest component is within it as well.
    fn solve(
        &mut self,
        products: &mut impl Products,
        g: &[f64],
        m: &[f64],
        max_steps: usize,
        residual_target: Option<f64>,
        s: &mut [f64],
    ) -> usize {
        let Cg {
            residual: r,
            preconditioned: z,
            search: d,
            product: hd,
            preconditioner_inverse: m_inverse,
        } = self;
        s.fill(0.0);
        // The preconditioner's inverse, so that each step multiplies rather than divides.
        for (mi, &m) in m_inverse.iter_mut().zip(m) {
            *mi = 1.0 / m;
        }
        let mut zr = 0.0;
        for i in 0..g.len() {
            r[i] = -g[i];
            z[i] = r[i] * m_inverse[i];
            d[i] = z[i];
            zr += z[i] * r[i];
        }
        // Q(s) = gᵀs + sᵀHs/2, the quadratic model; it only decreases.
        let mut q = 0.0;
        let mut steps = 0;
        while steps < max_steps {
            steps += 1;
            products.product(d, hd);
            let dhd = dot(d, hd);
            if dhd <= 0.0 {
                break;
            }
            let a = zr / dhd;
            // One sweep over the vectors (they outgrow the caches at corpus scale): the step,
            // the residual, `sᵀ(r − g)` for the model and the next preconditioned residual.
            let (mut srg, mut zr_new, mut r_max) = (0.0, 0.0, 0.0f64);
            for i in 0..s.len() {
                s[i] += a * d[i];
                r[i] -= a * hd[i];
                srg += s[i] * (r[i] - g[i]);
                z[i] = r[i] * m_inverse[i];
                zr_new += z[i] * r[i];
                r_max = r_max.max(r[i].abs());
            }
            products.stepped(a);
            // With r = −g − H·s: Q(s) = −(sᵀr − sᵀg)/2.
            let q_new = -0.5 * srg;
            let q_diff = q_new - q;
            if q_new > 0.0 || q_diff > 0.0 {
                break;
            }
            if steps as f64 * q_diff >= CG_RELATIVE_DECREASE * q_new
                && residual_target.is_none_or(|target| r_max <= target)
            {
                break;
            }
            q = q_new;
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

    /// The first `n` of six small rows over four columns.
    fn first_rows(n: usize) -> SparseRows<'static> {
        let x = array![
            [1.0, 0.0, 2.0, 0.0],
            [0.0, 3.0, 0.0, 1.0],
            [1.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 0.5, 2.0],
            [2.0, 0.0, 1.0, 1.0],
            [0.0, 1.0, 1.0, 0.0]
        ];
        SparseRows::from_dense(x.slice(ndarray::s![..n, ..]))
    }

    #[test]
    fn reaches_the_tolerance_and_a_warm_start_needs_fewer_steps() {
        let sparse = first_rows(6);
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
    fn a_residual_target_makes_conjugate_gradients_continue() {
        // H = diag(1, 2, 4, …, 2¹⁹): the quadratic rule stops long before the residual is
        // small; with a target it is reached.
        let h: Vec<f64> = (0..20).map(|i| f64::powi(2.0, i)).collect();
        let g = vec![1.0; 20];
        struct Diagonal<'h>(&'h [f64]);
        impl Products for Diagonal<'_> {
            fn product(&mut self, v: &[f64], out: &mut [f64]) {
                for ((o, v), h) in out.iter_mut().zip(v).zip(self.0) {
                    *o = h * v;
                }
            }
        }
        let residual = |s: &[f64]| -> f64 {
            (0..20)
                .map(|i| (g[i] + h[i] * s[i]).abs())
                .fold(0.0, f64::max)
        };
        let mut s = vec![0.0; 20];
        let loose = Cg::new(20).solve(&mut Diagonal(&h), &g, &[1.0; 20], 50, None, &mut s);
        assert!(residual(&s) > 1e-6, "{loose} steps: {s:?}");
        let tight = Cg::new(20).solve(&mut Diagonal(&h), &g, &[1.0; 20], 50, Some(1e-6), &mut s);
        assert!(tight > loose);
        assert!(residual(&s) <= 1e-6, "{tight} steps: {s:?}");
    }

    #[test]
    fn an_overshooting_step_is_cut_to_the_minimum_along_the_direction() {
        let sparse = first_rows(4);
        for (link, targets) in [
            (Link::Logistic, vec![1, 0, 1, 0]),
            (Link::Softmax { n_sets: 3 }, vec![0, 1, 2, 0]),
        ] {
            let mut objective = Objective::new(&sparse, &targets, link, 0.1, true);
            let n = objective.dimension();
            let theta = vec![0.0; n];
            let mut g = vec![0.0; n];
            objective.value_and_gradient(&theta, &mut g);
            // Far too long a step down the gradient: F rises at its end.
            let direction: Vec<f64> = g.iter().map(|g| -100.0 * g).collect();
            let slope: f64 = g.iter().zip(&direction).map(|(g, d)| g * d).sum();
            let curvature = objective.curvature();
            let (mut hv, mut scores) = (vec![0.0; n], vec![0.0; objective.row_scores_len()]);
            objective.hessian_vector(&curvature, &direction, &mut hv, Some(&mut scores));
            let t = line_minimum(&objective.ray(&theta, &direction, &scores), slope);
            assert!(t > 0.0 && t < 1.0, "{link:?}: {t}");
            // The rows' slope there, against F's gradient at that point.
            let point: Vec<f64> = direction.iter().map(|d| t * d).collect();
            objective.value_and_gradient(&point, &mut g);
            let slope_at_t: f64 = g.iter().zip(&direction).map(|(g, d)| g * d).sum();
            assert!(
                slope_at_t.abs() <= LINE_SLOPE * slope.abs() * (1.0 + 1e-9),
                "{link:?}: φ'({t}) = {slope_at_t}, φ'(0) = {slope}"
            );
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
