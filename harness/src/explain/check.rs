//! `make compare`'s call-site check: for every call of two matched tasks,
//! the innermost function of the program's own code that made it has the
//! same name in both twins (a Rust path's last segment against the C
//! function: `concserv::wrap::Accept` is `Accept`).

use super::stack::Entry;
use super::symbols::Symbolizer;

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

/// Whether two calls were made from functions of the same name; a `?`
/// (a merged instruction, see [`super::symbols::Resolved::innermost`])
/// cannot be checked, and passes.
pub fn same_site(a: Option<&str>, b: Option<&str>) -> bool {
    a == Some("?") || b == Some("?") || a.map(checked_name) == b.map(checked_name)
}

/// The lines of a `.sites` file, one per call: the innermost function
/// (`-` for none), then the normalised line, for a side-by-side diff.
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
    use super::*;

    #[test]
    fn names_compare_through_the_twin_names() {
        assert!(same_site(Some("ReadUninit"), Some("Read")));
        assert!(same_site(Some("Close"), Some("Close")));
        assert!(same_site(None, None));
        assert!(!same_site(Some("Close"), Some("main")));
        assert!(!same_site(Some("Close"), None));
        assert!(same_site(Some("?"), Some("Read")));
    }
}
