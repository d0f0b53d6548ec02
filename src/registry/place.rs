//! Where an organization stands: its level, its division code and its
//! parent must tell one story. Pure; the store checks every organization
//! it adds or imports against its parent with [`check_org`].
//!
//! A 6-digit division code says its own level by its shape (GB/T 2260):
//! `xx0000` a province, `xxxx00` a prefecture, anything else a county.
//! So:
//!
//! - a province's code is `xx0000`, a prefecture's `xxxx00`, a county's
//!   neither; a central organization sits in a province-shaped code (the
//!   capital's 110000, or the nation's 100000); a township carries the
//!   code of the county it belongs to, or of a prefecture-level city that
//!   has no counties (嘉峪关市 620200, 东莞市 441900);
//! - a parent is of a higher level than its child, or of the same level
//!   (a bureau under its own government: 兰州市文化和旅游局 under
//!   兰州市人民政府办公室);
//! - a child's division lies within its parent's: the same province
//!   (first 2 digits) under a province, the same prefecture (first 4)
//!   under a prefecture, the same county under a county. A central
//!   parent covers the whole country.

use super::{DivisionCode, Invalid, OrgLevel};

/// An organization as far as its place is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place<'a> {
    pub name: &'a str,
    pub division: &'a DivisionCode,
    pub level: OrgLevel,
}

/// The shapes a level's division code may have, for messages.
fn expected_shape(level: OrgLevel) -> &'static str {
    match level {
        OrgLevel::Central => "a province-level code (xx0000, such as 110000 or 100000)",
        OrgLevel::Province => "a province's code (xx0000)",
        OrgLevel::Prefecture => "a prefecture's code (xxxx00, not xx0000)",
        OrgLevel::County => "a county's code (6 digits not ending in 00)",
        OrgLevel::Township => {
            "its county's code (6 digits not ending in 00), or that of a prefecture-level city \
             without counties (xxxx00)"
        }
    }
}

/// What a division code's shape says it is, for messages.
fn shape_name(division: &DivisionCode) -> &'static str {
    match division.implied_level() {
        OrgLevel::Province => "a province's code",
        OrgLevel::Prefecture => "a prefecture's code",
        _ => "a county's code",
    }
}

/// Whether `division` has a shape an organization of `level` may have.
pub fn division_fits(level: OrgLevel, division: &DivisionCode) -> bool {
    let implied = division.implied_level();
    match level {
        OrgLevel::Central => implied == OrgLevel::Province,
        OrgLevel::Township => matches!(implied, OrgLevel::County | OrgLevel::Prefecture),
        level => implied == level,
    }
}

/// How many leading digits of a parent's division its children share: 2
/// under a province-shaped code, 4 under a prefecture's, all 6 under a
/// county's.
fn shared_digits(parent: &DivisionCode) -> usize {
    match parent.implied_level() {
        OrgLevel::Province => 2,
        OrgLevel::Prefecture => 4,
        _ => 6,
    }
}

/// Checks that `org`'s division fits its level, and, given its parent,
/// that the parent is of the same or a higher level and that `org`'s
/// division lies within the parent's. The refusal names the organization,
/// the values and the rule.
pub fn check_org(org: Place<'_>, parent: Option<Place<'_>>) -> Result<(), Invalid> {
    if !division_fits(org.level, org.division) {
        return Err(Invalid::new(
            "division",
            org.division.as_str(),
            &format!(
                "of organization `{}` is {}, but its level is {}: a {} organization has {}",
                org.name,
                shape_name(org.division),
                org.level,
                org.level,
                expected_shape(org.level)
            ),
        ));
    }
    let Some(parent) = parent else {
        return Ok(());
    };
    // The levels run central, province, prefecture, county, township:
    // the higher the level, the earlier it comes.
    if parent.level > org.level {
        return Err(Invalid::new(
            "parent",
            parent.name,
            &format!(
                "of organization `{}` ({}) is a {} organization, a lower level: a parent is of a \
                 higher level than its child, or of the same (central, province, prefecture, \
                 county, township)",
                org.name, org.level, parent.level
            ),
        ));
    }
    if parent.level == OrgLevel::Central {
        return Ok(());
    }
    let digits = shared_digits(parent.division);
    if org.division.as_str()[..digits] != parent.division.as_str()[..digits] {
        return Err(Invalid::new(
            "division",
            org.division.as_str(),
            &format!(
                "of organization `{}` is not within division {} of its parent `{}`: under {} a \
                 child's division code starts with the same {digits} digits ({})",
                org.name,
                parent.division,
                parent.name,
                shape_name(parent.division),
                &parent.division.as_str()[..digits]
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(raw: &str) -> DivisionCode {
        raw.parse().expect("a division code")
    }

    fn place<'a>(name: &'a str, division: &'a DivisionCode, level: OrgLevel) -> Place<'a> {
        Place {
            name,
            division,
            level,
        }
    }

    #[test]
    fn a_division_code_says_its_level() {
        let fits = |level, raw: &str| division_fits(level, &code(raw));
        assert!(fits(OrgLevel::Province, "620000"));
        assert!(!fits(OrgLevel::Province, "620100"));
        assert!(fits(OrgLevel::Prefecture, "620100"));
        assert!(!fits(OrgLevel::Prefecture, "620000"));
        assert!(!fits(OrgLevel::Prefecture, "620102"));
        assert!(fits(OrgLevel::County, "620102"));
        assert!(!fits(OrgLevel::County, "620100"));
        assert!(fits(OrgLevel::Central, "110000"));
        assert!(fits(OrgLevel::Central, "100000"));
        assert!(!fits(OrgLevel::Central, "110101"));
        assert!(fits(OrgLevel::Township, "620123"));
        // 嘉峪关市 has towns and no counties.
        assert!(fits(OrgLevel::Township, "620200"));
        assert!(!fits(OrgLevel::Township, "620000"));
    }

    #[test]
    fn a_child_stands_below_or_beside_its_parent_within_its_division() {
        let (gansu, lanzhou, yuzhong, tianshui) = (
            code("620000"),
            code("620100"),
            code("620123"),
            code("620500"),
        );
        let province = place("甘肃省人民政府办公厅", &gansu, OrgLevel::Province);
        let city = place("兰州市人民政府办公室", &lanzhou, OrgLevel::Prefecture);
        assert!(check_org(city, Some(province)).is_ok());
        // A bureau under its own government: the same level and division.
        let bureau = place("兰州市文化和旅游局", &lanzhou, OrgLevel::Prefecture);
        assert!(check_org(bureau, Some(city)).is_ok());
        let county = place("榆中县人民政府办公室", &yuzhong, OrgLevel::County);
        assert!(check_org(county, Some(city)).is_ok());
        assert!(check_org(county, Some(province)).is_ok());

        let error = check_org(city, Some(county)).expect_err("a parent below");
        assert_eq!(
            error.to_string(),
            "parent `榆中县人民政府办公室` of organization `兰州市人民政府办公室` (prefecture) is a \
             county organization, a lower level: a parent is of a higher level than its child, \
             or of the same (central, province, prefecture, county, township)"
        );
        let error = check_org(
            place("天水市某局", &tianshui, OrgLevel::Prefecture),
            Some(city),
        )
        .expect_err("another city");
        assert_eq!(
            error.to_string(),
            "division `620500` of organization `天水市某局` is not within division 620100 of its \
             parent `兰州市人民政府办公室`: under a prefecture's code a child's division code \
             starts with the same 4 digits (6201)"
        );
        let error = check_org(place("某市", &gansu, OrgLevel::Prefecture), None)
            .expect_err("a province's code");
        assert_eq!(
            error.to_string(),
            "division `620000` of organization `某市` is a province's code, but its level is \
             prefecture: a prefecture organization has a prefecture's code (xxxx00, not xx0000)"
        );
        // A central parent covers the country.
        let beijing = code("110000");
        let central = place("国务院办公厅", &beijing, OrgLevel::Central);
        assert!(check_org(province, Some(central)).is_ok());
    }
}
