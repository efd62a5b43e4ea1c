//! `make compare`'s call-site check: for every call of two matched tasks,
//! the innermost function of the program's own code that made it has the
//! same name in both twins (a Rust path's last segment against the C
//! function: `concserv::wrap::Accept` is `Accept`).

use super::stack::Entry;
use super::symbols::{Symbolizer, unmapped};

/// Rust functions that stand for a C function of another name. Only one:
/// C's `Read` takes any `void *`; Rust's `Read` takes initialised bytes
/// and hands them to `ReadUninit`, which takes any buffer and so is what
/// `echo_upper` calls where C calls `Read`.
pub const TWIN_NAMES: &[(&str, &str)] = &[("ReadUninit", "Read")];

/// The name a function of either twin is checked under.
pub fn checked_name(name: &str) -> &str {
    TWIN_NAMES
        .iter()
        .find(|(rust, _)| *rust == name)
        .map_or(name, |(_, c)| c)
}

/// For each entry of a task (each normalised line), the innermost function
/// of the program's own code on its stack, if any.
pub fn innermost_functions(entries: &[Entry], sym: Option<&Symbolizer>) -> Vec<Option<String>> {
    entries
        .iter()
        .map(|e| {
            let sym = sym?;
            sym.resolve(&e.frames).innermost().map(str::to_string)
        })
        .collect()
}

/// Whether two calls were made from functions of the same name; a call
/// not mapped (a merged instruction, see
/// [`super::symbols::Resolved::innermost`]) cannot be checked, and passes.
pub fn same_site(a: Option<&str>, b: Option<&str>) -> bool {
    a.is_some_and(unmapped) || b.is_some_and(unmapped) || a.map(checked_name) == b.map(checked_name)
}

/// What the call-site check can say of one call of two matched tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteCheck {
    /// Both name the function that made it, and it is the same.
    Same,
    /// They name different functions, or one names one and the other none.
    Differ,
    /// Either cannot name it (not mapped): nothing was checked.
    NotChecked,
    /// Neither side's own code made it (the loader's calls, say).
    NoSite,
}

/// The call-site check of one call: `a` and `b` as
/// [`innermost_functions`] gives them.
pub fn check_sites(a: Option<&str>, b: Option<&str>) -> SiteCheck {
    match (a, b) {
        (Some(x), _) | (_, Some(x)) if unmapped(x) => SiteCheck::NotChecked,
        (None, None) => SiteCheck::NoSite,
        (x, y) if x.map(checked_name) == y.map(checked_name) => SiteCheck::Same,
        _ => SiteCheck::Differ,
    }
}

/// The lines of a `.sites` file, one per call: the innermost function
/// (`-` for none; `not mapped (why)` where the line tables cannot name
/// it), then the normalised line, for a side-by-side diff.
pub fn sites_file(lines: &[String], sites: &[Option<String>]) -> String {
    let mut out = String::new();
    for (line, site) in lines.iter().zip(sites) {
        let name = site.as_deref().map_or("-", checked_name);
        out.push_str(&format!("{name:<14} {line}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::symbols::{MERGED, UNCOVERED};
    use super::*;

    #[test]
    fn names_compare_through_the_twin_names() {
        assert!(same_site(Some("ReadUninit"), Some("Read")));
        assert!(same_site(Some("Close"), Some("Close")));
        assert!(same_site(None, None));
        assert!(!same_site(Some("Close"), Some("main")));
        assert!(!same_site(Some("Close"), None));
        assert!(same_site(Some(MERGED), Some("Read")));
    }

    #[test]
    fn a_site_either_side_cannot_name_is_not_checked() {
        assert_eq!(
            check_sites(Some("ReadUninit"), Some("Read")),
            SiteCheck::Same
        );
        assert_eq!(
            check_sites(Some(MERGED), Some("Read")),
            SiteCheck::NotChecked
        );
        assert_eq!(
            check_sites(Some("Read"), Some(UNCOVERED)),
            SiteCheck::NotChecked
        );
        assert_eq!(check_sites(None, None), SiteCheck::NoSite);
        assert_eq!(check_sites(Some("Close"), None), SiteCheck::Differ);
        assert_eq!(check_sites(Some("Close"), Some("main")), SiteCheck::Differ);
    }
}
