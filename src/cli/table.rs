//! Plain aligned text tables for the terminal: left-aligned first column, the rest
//! right-aligned, two spaces between columns.

use std::fmt::Write as _;

pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Table {
        Table {
            rows: vec![header.into_iter().map(Into::into).collect()],
        }
    }

    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    fn widths(&self) -> Vec<usize> {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect()
    }

    /// The table within `width` columns: as one table if it fits, else as several, each with
    /// the first column and as many of the others as fit, taken `together` at a time (a value
    /// and its difference), one after another with a blank line between.
    pub fn render_within(&self, indent: &str, width: usize, together: usize) -> String {
        let widths = self.widths();
        let together = together.max(1);
        let first = indent.chars().count() + widths.first().copied().unwrap_or(0);
        let mut parts: Vec<Vec<usize>> = Vec::new();
        let mut used = first;
        for group in (1..widths.len()).collect::<Vec<_>>().chunks(together) {
            let size: usize = group.iter().map(|&c| widths[c] + 2).sum();
            match parts.last_mut() {
                Some(part) if used + size <= width => part.extend(group),
                _ => {
                    parts.push(group.to_vec());
                    used = first;
                }
            }
            used += size;
        }
        if parts.len() <= 1 {
            return self.render(indent);
        }
        let mut out = String::new();
        for (index, part) in parts.iter().enumerate() {
            if index > 0 {
                out.push('\n');
            }
            let piece = Table {
                rows: self
                    .rows
                    .iter()
                    .map(|row| {
                        std::iter::once(0)
                            .chain(part.iter().copied())
                            .map(|c| row.get(c).cloned().unwrap_or_default())
                            .collect()
                    })
                    .collect(),
            };
            out.push_str(&piece.render(indent));
        }
        out
    }

    pub fn render(&self, indent: &str) -> String {
        let widths = self.widths();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::from(indent);
            for (c, cell) in row.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                if c == 0 {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                } else {
                    line.push_str("  ");
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                }
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out
    }
}

impl Table {
    /// The same table as Markdown (GitHub pipes), header separated by `---`.
    pub fn render_markdown(&self) -> String {
        let mut out = String::new();
        for (index, row) in self.rows.iter().enumerate() {
            let cells: Vec<String> = row.iter().map(|cell| cell.replace('|', "\\|")).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
            if index == 0 {
                let rule: Vec<&str> = row
                    .iter()
                    .enumerate()
                    .map(|(c, _)| if c == 0 { "---" } else { "---:" })
                    .collect();
                let _ = writeln!(out, "|{}|", rule.join("|"));
            }
        }
        out
    }
}

/// A metric value with three decimals, or `–` when undefined.
pub fn number(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.3}"),
        Some(v) => format!("{v}"),
        None => "–".to_owned(),
    }
}

/// `[low, high]` with three decimals, or `–`.
pub fn interval(low: Option<f64>, high: Option<f64>) -> String {
    match (low, high) {
        (Some(low), Some(high)) => format!("[{low:.3}, {high:.3}]"),
        _ => "–".to_owned(),
    }
}

/// A p-value as people read it: three decimals, or `< 0.001`.
pub fn p_value(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".to_owned()
    } else {
        format!("{p:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align() {
        let mut table = Table::new(["metric", "value"]);
        table.row(["accuracy", "0.700"]);
        table.row(["f1", "1.000"]);
        assert_eq!(
            table.render(""),
            "metric    value\naccuracy  0.700\nf1        1.000\n"
        );
    }

    #[test]
    fn wide_tables_are_cut_into_tables_that_fit() {
        let mut table = Table::new(["name", "a", "Δ", "b", "Δ"]);
        table.row(["x", "0.500", "+0.100", "0.250", "-0.050"]);
        // Fits in 40: one table.
        assert_eq!(table.render_within("", 40, 2), table.render(""));
        // Not in 20: each value keeps its difference.
        assert_eq!(
            table.render_within("", 20, 2),
            "name      a       Δ\nx     0.500  +0.100\n\nname      b       Δ\nx     0.250  -0.050\n"
        );
    }

    #[test]
    fn markdown_has_a_rule_under_the_header() {
        let mut table = Table::new(["metric", "value"]);
        table.row(["a|b", "1"]);
        assert_eq!(
            table.render_markdown(),
            "| metric | value |\n|---|---:|\n| a\\|b | 1 |\n"
        );
    }

    #[test]
    fn numbers_and_p_values() {
        assert_eq!(number(None), "–");
        assert_eq!(number(Some(0.5)), "0.500");
        assert_eq!(interval(Some(0.1), Some(0.25)), "[0.100, 0.250]");
        assert_eq!(p_value(0.0004), "< 0.001");
        assert_eq!(p_value(0.0123), "0.012");
    }
}
