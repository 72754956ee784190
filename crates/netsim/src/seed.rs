//! Seeds for reproducible runs: every failure message should name the seed so the run can be
//! repeated with `NETSIM_SEED=<n> cargo test ...`.

/// The environment variable that overrides a test's default seed.
pub const SEED_ENV: &str = "NETSIM_SEED";

/// `NETSIM_SEED` if set (decimal, or hex with `0x`), else `default`. Panics on an unparsable
/// value rather than silently running another seed.
pub fn seed_from_env(default: u64) -> u64 {
    match std::env::var(SEED_ENV) {
        Ok(v) => parse_seed(&v)
            .unwrap_or_else(|| panic!("{SEED_ENV}={v:?} is not a seed (decimal or 0x-hex u64)")),
        Err(_) => default,
    }
}

/// Parses a decimal or `0x`-prefixed hexadecimal `u64`.
pub fn parse_seed(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// `"seed=N"`: put it in every assertion message of a simulated test.
pub fn seed_tag(seed: u64) -> String {
    format!("seed={seed}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_and_hex() {
        assert_eq!(parse_seed("42"), Some(42));
        assert_eq!(parse_seed(" 0x2a "), Some(42));
        assert_eq!(parse_seed("x"), None);
        assert_eq!(seed_tag(5), "seed=5");
    }
}
