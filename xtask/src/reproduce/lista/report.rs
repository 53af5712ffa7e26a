//! The written results: Markdown sections, CSV and plots.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use plotters::prelude::*;

use super::curves::value_at;
use super::{Config, Outcome, Report, K, MAX_Q};
use crate::bench::BoxResult;
use crate::reproduce::out_dir;

impl Report<'_> {
    /// Writes the Markdown table, the CSV and the plots, prints the table; the wall time is
    /// measured from `start`.
    pub(super) fn write(
        &self,
        cfg: &Config,
        outcomes: &[Outcome],
        start: Instant,
    ) -> BoxResult<()> {
        let dir = out_dir("lista")?;
        let wall = start.elapsed().as_secs_f64();
        let table = self.markdown(cfg, outcomes, wall);
        std::fs::write(dir.join(format!("{}.md", self.stem)), &table)?;
        write_csv(
            &dir.join(format!("{}.csv", self.stem)),
            self.case_column,
            outcomes,
        )?;
        for o in outcomes {
            plot(&dir.join(&o.case.plot), o)?;
        }
        println!("{table}");
        println!("wrote {}", dir.display());
        Ok(())
    }

    /// The report: title, description, one table per case, the wall time.
    fn markdown(&self, cfg: &Config, outcomes: &[Outcome], wall: f64) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# {}\n\n{}\n", self.title, self.description);
        for o in outcomes {
            s.push_str(&section(cfg, o));
        }
        let _ = writeln!(s, "Wall time: {wall:.1} s.");
        s
    }
}

/// The Markdown section of one case: the reference values and the table of
/// `F(z_q) - F(z*)` at the trained depths and at `q = MAX_Q`.
fn section(cfg: &Config, o: &Outcome) -> String {
    let mut qs = cfg.depths.clone();
    if !qs.contains(&MAX_Q) {
        qs.push(MAX_Q);
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## {}\n\nMean F(0) = {:.4e}, mean F(z*) = {:.4e} (FISTA with restart: {}/{} signals to \
         a relative duality gap <= 1e-12, largest gap {:.1e}, at most {} iterations); z* has \
         {:.2} non-zeros per code on average ({:.1} % of the {} atoms)\n",
        o.case.label,
        o.f_zero,
        o.f_star,
        o.fista_converged,
        o.n_test,
        o.fista_gap,
        o.fista_iters,
        o.star_nnz,
        100.0 * o.star_nnz / K as f64,
        K
    );
    let _ = writeln!(s, "{}\n", o.facnet);
    let _ = write!(s, "| method |");
    for q in &qs {
        let _ = write!(s, " q = {q} |");
    }
    let _ = writeln!(s, " training (s) |");
    let _ = writeln!(s, "|---|{}---|", "---|".repeat(qs.len()));
    for c in &o.curves {
        let _ = write!(s, "| {} |", c.name);
        for &q in &qs {
            match value_at(c, q) {
                Some(v) => {
                    let _ = write!(s, " {v:.3e} |");
                }
                None => s.push_str(" - |"),
            }
        }
        let _ = writeln!(s, " {:.1} |", c.train_seconds);
    }
    s.push('\n');
    s
}

/// `<case_column>,method,q,f_minus_fstar`, one row per point of every curve.
fn write_csv(path: &Path, case_column: &str, outcomes: &[Outcome]) -> BoxResult<()> {
    let mut s = format!("{case_column},method,q,f_minus_fstar\n");
    for o in outcomes {
        for c in &o.curves {
            for (q, v) in &c.points {
                let _ = writeln!(s, "{},{},{q},{v:.6e}", o.case.key, c.name);
            }
        }
    }
    std::fs::write(path, s)?;
    Ok(())
}

/// Log-log plot of every curve of `o` (values below `1e-8` drawn at `1e-8`).
fn plot(path: &Path, o: &Outcome) -> BoxResult<()> {
    let floor = 1e-8;
    let all = o.curves.iter().flat_map(|c| c.points.iter().map(|p| p.1));
    let ymax = all.clone().fold(floor, f64::max) * 2.0;
    let ymin = all.fold(f64::INFINITY, f64::min).max(floor) / 2.0;
    let root = SVGBackend::new(path, (800, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!("F(z_q) - F(z*), {}", o.case.label);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((1f64..MAX_Q as f64).log_scale(), (ymin..ymax).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("layers / iterations q")
        .y_desc("F(z_q) - F(z*)")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()?;
    let colors = [GREEN, RGBColor(200, 160, 0), BLUE, RED, CYAN];
    for (c, color) in o.curves.iter().zip(colors) {
        let pts: Vec<(f64, f64)> = c
            .points
            .iter()
            .map(|&(q, v)| (q as f64, v.max(floor)))
            .collect();
        let style = color.stroke_width(2);
        chart
            .draw_series(LineSeries::new(pts.clone(), style))?
            .label(c.name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        if pts.len() < 20 {
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
