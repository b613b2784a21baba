//! The catalog as the Markdown table the README embeds.

use realm_metrics::Metric;

/// The catalog table, one row per metric, reference order.
pub fn catalog_table() -> String {
    let mut s = String::from("| Name | Kind | Group | Description |\n| --- | --- | --- | --- |\n");
    for m in Metric::ALL {
        s.push_str(&format!(
            "| `<prefix>.{}` | {} | {} | {} |\n",
            m.name(),
            m.kind(),
            m.group(),
            m.description().replace('|', "\\|")
        ));
    }
    s
}
