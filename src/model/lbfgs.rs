//! A limited-memory BFGS minimiser with a strong-Wolfe line search (Nocedal & Wright,
//! *Numerical Optimization*, algorithms 7.4, 3.5 and 3.6).
//!
//! It takes a function that returns `f(θ)` and writes `∇f(θ)`, and hands back the last point
//! with why it stopped. It differs from argmin 0.11's `LBFGS` (used by linfa-logistic) where
//! that one goes wrong on our problems: a curvature pair with `sᵀy ≤ ε·yᵀy` is skipped rather
//! than stored (a stored one can make the next direction point uphill), a failed line search
//! restarts from steepest descent once before giving up, and the caller learns the reason.

use std::collections::VecDeque;

/// Wolfe constants: sufficient decrease and curvature (the usual quasi-Newton choice).
const C1: f64 = 1e-4;
const C2: f64 = 0.9;
/// Relative size of the rounding noise in `f`. Near the minimum a step's true decrease drops
/// below it while the gradient still points the way; a step is then accepted on the
/// derivative alone, Hager & Zhang's "approximate Wolfe" conditions (2005).
const ROUNDING: f64 = 1e-10;
/// Function evaluations one line search may spend.
const MAX_LINE_SEARCH_EVALUATIONS: usize = 30;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) max_iterations: u64,
    /// Largest acceptable size of `∇f`, measured by `norm`.
    pub(crate) gradient_tolerance: f64,
    pub(crate) norm: Norm,
    /// Curvature pairs kept.
    pub(crate) history: usize,
}

/// How the size of a gradient is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Norm {
    /// `‖∇f‖₂`.
    Euclidean,
    /// `‖∇f‖∞`, the largest component (scikit-learn's test).
    Largest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The gradient's norm is within `gradient_tolerance`.
    GradientTolerance,
    MaxIterations,
    /// No step along the steepest-descent direction gave a sufficient decrease: `f` cannot
    /// be lowered further in floating point, or the function is not smooth there.
    LineSearch,
}

#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) theta: Vec<f64>,
    pub(crate) iterations: u64,
    pub(crate) stop: Stop,
}

struct Pair {
    s: Vec<f64>,
    y: Vec<f64>,
    rho: f64,
}

/// Minimises `f` from `theta`. `f(θ, g)` returns the value and writes the gradient into `g`.
pub(crate) fn minimize<F>(mut f: F, theta: Vec<f64>, settings: &Settings) -> Outcome
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let n = theta.len();
    let mut x = theta;
    let mut g = vec![0.0; n];
    let mut fx = f(&x, &mut g);
    let mut x_trial = vec![0.0; n];
    let mut g_trial = vec![0.0; n];
    let mut direction = vec![0.0; n];
    let mut history: VecDeque<Pair> = VecDeque::with_capacity(settings.history);
    let mut two_loop_alphas = vec![0.0; settings.history];
    let mut iterations = 0;

    let stop = loop {
        let gradient_norm = norm(&g);
        let size = match settings.norm {
            Norm::Euclidean => gradient_norm,
            Norm::Largest => g.iter().fold(0.0, |m: f64, gi| m.max(gi.abs())),
        };
        if size <= settings.gradient_tolerance {
            break Stop::GradientTolerance;
        }
        if iterations >= settings.max_iterations {
            break Stop::MaxIterations;
        }

        let mut accepted = None;
        // A quasi-Newton direction first; if its line search fails, steepest descent.
        for quasi_newton in [true, false] {
            if !quasi_newton {
                if history.is_empty() {
                    break;
                }
                history.clear();
            }
            search_direction(&g, &history, &mut two_loop_alphas, &mut direction);
            let mut slope = dot(&direction, &g);
            if slope.is_nan() || slope >= 0.0 {
                history.clear();
                for (d, gi) in direction.iter_mut().zip(&g) {
                    *d = -gi;
                }
                slope = -gradient_norm * gradient_norm;
            }
            // The first step has no curvature to scale it: make it of unit length.
            let initial_step = if history.is_empty() {
                (1.0 / gradient_norm).min(1.0)
            } else {
                1.0
            };
            let mut line = Line {
                f: &mut f,
                x: &x,
                direction: &direction,
                x_trial: &mut x_trial,
                g_trial: &mut g_trial,
            };
            accepted = line.search(fx, slope, initial_step);
            if accepted.is_some() {
                break;
            }
        }
        let Some(f_new) = accepted else {
            break Stop::LineSearch;
        };
        iterations += 1;

        let mut pair = if history.len() == settings.history {
            history.pop_front()
        } else {
            None
        }
        .unwrap_or_else(|| Pair {
            s: vec![0.0; n],
            y: vec![0.0; n],
            rho: 0.0,
        });
        for i in 0..n {
            pair.s[i] = x_trial[i] - x[i];
            pair.y[i] = g_trial[i] - g[i];
        }
        let sy = dot(&pair.s, &pair.y);
        if settings.history > 0 && sy > f64::EPSILON * dot(&pair.y, &pair.y) {
            pair.rho = 1.0 / sy;
            history.push_back(pair);
        }

        std::mem::swap(&mut x, &mut x_trial);
        std::mem::swap(&mut g, &mut g_trial);
        fx = f_new;
    };

    Outcome {
        theta: x,
        iterations,
        stop,
    }
}

/// The two-loop recursion: `direction = −H·g` with `H` the L-BFGS inverse-Hessian estimate.
fn search_direction(
    g: &[f64],
    history: &VecDeque<Pair>,
    alphas: &mut [f64],
    direction: &mut [f64],
) {
    for (d, gi) in direction.iter_mut().zip(g) {
        *d = -gi;
    }
    for (i, pair) in history.iter().enumerate().rev() {
        let a = pair.rho * dot(&pair.s, direction);
        alphas[i] = a;
        axpy(-a, &pair.y, direction);
    }
    if let Some(newest) = history.back() {
        let gamma = 1.0 / (newest.rho * dot(&newest.y, &newest.y));
        direction.iter_mut().for_each(|d| *d *= gamma);
    }
    for (i, pair) in history.iter().enumerate() {
        let b = pair.rho * dot(&pair.y, direction);
        axpy(alphas[i] - b, &pair.s, direction);
    }
}

/// One point on the search line: step, value, directional derivative.
#[derive(Debug, Clone, Copy)]
struct Probe {
    step: f64,
    value: f64,
    slope: f64,
}

impl Probe {
    fn is_finite(&self) -> bool {
        self.value.is_finite() && self.slope.is_finite()
    }
}

struct Line<'a, F> {
    f: &'a mut F,
    x: &'a [f64],
    direction: &'a [f64],
    x_trial: &'a mut [f64],
    g_trial: &'a mut [f64],
}

impl<F: FnMut(&[f64], &mut [f64]) -> f64> Line<'_, F> {
    fn probe(&mut self, step: f64) -> Probe {
        for ((xt, xi), di) in self.x_trial.iter_mut().zip(self.x).zip(self.direction) {
            *xt = xi + step * di;
        }
        let value = (self.f)(self.x_trial, self.g_trial);
        Probe {
            step,
            value,
            slope: dot(self.g_trial, self.direction),
        }
    }

    /// A step meeting the strong Wolfe conditions, or failing that the best step with a
    /// sufficient decrease; `x_trial`/`g_trial` then hold that point. `None` if no step
    /// lowered `f` enough.
    fn search(&mut self, f0: f64, slope0: f64, initial_step: f64) -> Option<f64> {
        // `low` always satisfies sufficient decrease and has the lowest value seen;
        // once `high` is set, a Wolfe step lies between them.
        let mut low = Probe {
            step: 0.0,
            value: f0,
            slope: slope0,
        };
        let mut high: Option<Probe> = None;
        let mut step = initial_step;
        for _ in 0..MAX_LINE_SEARCH_EVALUATIONS {
            let trial = self.probe(step);
            let decrease = trial.value <= f0 + C1 * step * slope0
                || (trial.value <= f0 + ROUNDING * f0.abs()
                    && trial.slope <= (1.0 - 2.0 * C1) * -slope0);
            if trial.is_finite() && decrease && trial.slope.abs() <= -C2 * slope0 {
                return Some(trial.value);
            }
            if !trial.is_finite()
                || trial.value > f0 + C1 * step * slope0
                || trial.value >= low.value
            {
                high = Some(trial);
            } else {
                // The derivative's sign says on which side of `trial` the minimum lies.
                let beyond = high.map_or(f64::INFINITY, |h| h.step) - trial.step;
                if trial.slope * beyond >= 0.0 {
                    high = Some(low);
                }
                low = trial;
            }
            step = match high {
                None => 4.0 * low.step,
                Some(high) => {
                    let width = (high.step - low.step).abs();
                    if width <= 1e-12 * high.step.abs().max(low.step.abs()) {
                        break;
                    }
                    next_step(&low, &high)
                }
            };
        }
        if low.step > 0.0 {
            return Some(self.probe(low.step).value);
        }
        None
    }
}

/// Next trial inside the bracket: the minimiser of the cubic through both ends, kept at
/// least a tenth of the width from either end; towards `low` when `high` is not finite.
fn next_step(low: &Probe, high: &Probe) -> f64 {
    let (a, b) = (low.step, high.step);
    if !high.is_finite() {
        return a + 0.1 * (b - a);
    }
    let d1 = low.slope + high.slope - 3.0 * (low.value - high.value) / (a - b);
    let discriminant = d1 * d1 - low.slope * high.slope;
    let cubic = if discriminant >= 0.0 {
        let d2 = (b - a).signum() * discriminant.sqrt();
        b - (b - a) * (high.slope + d2 - d1) / (high.slope - low.slope + 2.0 * d2)
    } else {
        f64::NAN
    };
    let (lo, hi) = (a.min(b), a.max(b));
    let margin = 0.1 * (hi - lo);
    if cubic.is_finite() {
        cubic.clamp(lo + margin, hi - margin)
    } else {
        0.5 * (a + b)
    }
}

/// ndarray's dot: unrolled over eight partial sums, several times faster than one running
/// sum over the thousands of coefficients of a bag-of-words model (the two-loop recursion
/// takes twenty of these a step).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    ndarray::aview1(a).dot(&ndarray::aview1(b))
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(max_iterations: u64, gradient_tolerance: f64) -> Settings {
        Settings {
            max_iterations,
            gradient_tolerance,
            norm: Norm::Euclidean,
            history: 10,
        }
    }

    fn rosenbrock(x: &[f64], g: &mut [f64]) -> f64 {
        let (a, b) = (x[0], x[1]);
        g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
        g[1] = 200.0 * (b - a * a);
        (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
    }

    #[test]
    fn minimises_rosenbrock() {
        let out = minimize(rosenbrock, vec![-1.2, 1.0], &settings(500, 1e-10));
        assert_eq!(out.stop, Stop::GradientTolerance);
        assert!((out.theta[0] - 1.0).abs() < 1e-8 && (out.theta[1] - 1.0).abs() < 1e-8);
        let mut g = [0.0; 2];
        rosenbrock(&out.theta, &mut g);
        assert!(norm(&g) <= 1e-10);
    }

    #[test]
    fn minimises_an_ill_conditioned_quadratic() {
        // f = Σ cᵢ (xᵢ − 1)² / 2 with curvatures spanning three orders of magnitude; scipy's
        // L-BFGS-B (m = 10) takes 235 iterations to reach ‖∇f‖ ≤ 1e-8 here.
        let curvatures: Vec<f64> = (0..20).map(|i| 10f64.powf(3.0 * i as f64 / 19.0)).collect();
        let f = |x: &[f64], g: &mut [f64]| {
            let mut value = 0.0;
            for i in 0..x.len() {
                g[i] = curvatures[i] * (x[i] - 1.0);
                value += 0.5 * curvatures[i] * (x[i] - 1.0).powi(2);
            }
            value
        };
        let out = minimize(f, vec![0.0; 20], &settings(300, 1e-8));
        assert_eq!(out.stop, Stop::GradientTolerance);
        assert!(out.theta.iter().all(|x| (x - 1.0).abs() < 1e-6));
    }

    #[test]
    fn reports_exhausted_iterations() {
        let out = minimize(rosenbrock, vec![-1.2, 1.0], &settings(3, 1e-10));
        assert_eq!(out.stop, Stop::MaxIterations);
        assert_eq!(out.iterations, 3);
        let mut g = [0.0; 2];
        rosenbrock(&out.theta, &mut g);
        assert!(norm(&g) > 1e-10);
    }

    #[test]
    fn stops_at_once_when_already_converged() {
        let out = minimize(rosenbrock, vec![1.0, 1.0], &settings(100, 1e-10));
        assert_eq!((out.stop, out.iterations), (Stop::GradientTolerance, 0));
    }

    #[test]
    fn steps_back_from_overflow() {
        // exp overflows far from the minimum at 0; the line search must back off from ∞.
        let f = |x: &[f64], g: &mut [f64]| {
            g[0] = x[0].exp() - (-x[0]).exp();
            x[0].exp() + (-x[0]).exp()
        };
        let out = minimize(f, vec![30.0], &settings(200, 1e-9));
        assert_eq!(out.stop, Stop::GradientTolerance);
        assert!(out.theta[0].abs() < 1e-9);
    }

    #[test]
    fn a_function_without_minimum_fails_honestly() {
        // f = x has no minimum: never reports convergence.
        let f = |x: &[f64], g: &mut [f64]| {
            g[0] = 1.0;
            x[0]
        };
        let out = minimize(f, vec![0.0], &settings(50, 1e-6));
        assert_ne!(out.stop, Stop::GradientTolerance);
    }
}
