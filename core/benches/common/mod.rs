//! What the benchmarks share: reading criterion's estimates of this run to print ratios.

/// Criterion's point estimate (mean, ns) of `group/name` from this run.
pub fn mean_ns(group: &str, name: &str) -> Option<f64> {
    let home = std::env::var("CRITERION_HOME").map_or_else(
        |_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion"),
        Into::into,
    );
    let path = home.join(group).join(name).join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

/// Prints `ratio measured/baseline group: r (m ns vs b ns)` when both were measured.
pub fn print_ratio(group: &str, measured: &str, baseline: &str) {
    if let (Some(m), Some(b)) = (mean_ns(group, measured), mean_ns(group, baseline)) {
        println!(
            "ratio {measured}/{baseline} {group}: {:.3} ({m:.0} ns vs {b:.0} ns)",
            m / b
        );
    }
}
