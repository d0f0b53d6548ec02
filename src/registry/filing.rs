//! ICP filing numbers (ICP备案号) and public-security filing numbers
//! (公安机关备案号). A malformed value is a warning and is stored as given:
//! the registry records what the site shows, and the format has varied.

use std::sync::LazyLock;

use regex::Regex;

use super::Warning;

/// Province abbreviations used in filing numbers (both forms where a
/// province has two: 甘/陇, 陕/秦, 贵/黔, 云/滇, 川/蜀).
pub const PROVINCE_ABBREVIATIONS: &str =
    "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川蜀贵黔云滇藏陕秦甘陇青宁新港澳台";

static ICP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        "^[{PROVINCE_ABBREVIATIONS}]ICP备\\d{{6,10}}号(-\\d{{1,4}})?$"
    ))
    .expect("static regex")
});

static PSB: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!("^[{PROVINCE_ABBREVIATIONS}]公网安备\\d{{14}}号$")).expect("static regex")
});

/// Checks an ICP filing number such as `陇ICP备05001234号` or
/// `京ICP备05070218号-1`.
pub fn check_icp(value: &str) -> Option<Warning> {
    (!ICP.is_match(value.trim())).then(|| {
        Warning::new(
            "icp",
            value,
            "is not of the form <province abbreviation>ICP备<digits>号(-<digits>); stored as given"
                .to_string(),
        )
    })
}

/// Checks a public-security filing number such as `甘公网安备62010202000001号`.
pub fn check_psb(value: &str) -> Option<Warning> {
    (!PSB.is_match(value.trim())).then(|| {
        Warning::new(
            "psb",
            value,
            "is not of the form <province abbreviation>公网安备<14 digits>号; stored as given"
                .to_string(),
        )
    })
}
