//! The page: the C sources, the trace, the Rust sources, side by side.
//! Choosing a call (a click, or Enter) highlights the line that made it on
//! each side, and the lines of the functions it went through more lightly;
//! the address's `#call-T-N` chooses one when the page opens, else the
//! program's own first call. Each call is shown whole; the calls the
//! loader and libc make before the program's code are folded under a line
//! that counts them (a click unfolds them). One file, its CSS and script
//! inline, nothing fetched.

use super::{Call, Explained, Origin, Row};
use std::fmt::Write as _;
use std::path::Path;

/// Text escaped for HTML content and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// One twin's source files on the page: its main file first, then every
/// file a call's stack went through, in the order the calls reach them.
struct Sources {
    /// `c` or `r`, the prefix of the lines' ids.
    prefix: &'static str,
    files: Vec<String>,
}

impl Sources {
    fn new(prefix: &'static str, main: &str, calls: impl Iterator<Item = Call>) -> Sources {
        let mut files: Vec<String> = Vec::new();
        for call in calls {
            for s in &call.at.own {
                if !files.contains(&s.file) {
                    files.push(s.file.clone());
                }
            }
        }
        if let Some(i) = files.iter().position(|f| f.ends_with(main)) {
            let f = files.remove(i);
            files.insert(0, f);
        }
        Sources { prefix, files }
    }

    /// The id of a line: `c0-56`; none for line 0 (not mapped: no line
    /// is lit rather than a wrong one).
    fn id(&self, file: &str, line: u32) -> Option<String> {
        if line == 0 {
            return None;
        }
        let i = self.files.iter().position(|f| f == file)?;
        Some(format!("{}{i}-{line}", self.prefix))
    }

    /// The ids of a call's lines: the line shown for it first, then each
    /// own frame's.
    fn ids(&self, call: Option<&Call>) -> String {
        let Some(call) = call else {
            return String::new();
        };
        let mut ids: Vec<String> = Vec::new();
        if let Some((site, _)) = call.site() {
            ids.extend(self.id(&site.file, site.line));
        }
        for s in &call.at.own {
            if let Some(id) = self.id(&s.file, s.line)
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
        ids.join(" ")
    }

    fn render(&self, out: &mut String, title: &str) {
        let _ = writeln!(
            out,
            "<section class=\"src\" id=\"{}-src\" aria-label=\"{title} sources\">",
            self.prefix
        );
        let _ = writeln!(out, "<h2>{title}</h2>");
        for (i, file) in self.files.iter().enumerate() {
            let name = Path::new(file)
                .file_name()
                .map_or(file.clone(), |n| n.to_string_lossy().into_owned());
            let _ = writeln!(
                out,
                "<h3 id=\"{}{i}\" title=\"{}\">{}</h3>",
                self.prefix,
                escape(file),
                escape(&name)
            );
            out.push_str("<pre>");
            match std::fs::read_to_string(file) {
                Ok(text) => {
                    for (n, line) in text.lines().enumerate() {
                        let _ = write!(
                            out,
                            "<span class=\"l\" id=\"{}{i}-{}\"><span class=\"n\">{}</span>{}</span>",
                            self.prefix,
                            n + 1,
                            n + 1,
                            escape(line)
                        );
                    }
                }
                Err(e) => {
                    let _ = writeln!(out, "({})", escape(&e.to_string()));
                }
            }
            out.push_str("</pre>\n");
        }
        out.push_str("</section>\n");
    }
}

const STYLE: &str = r#"
:root { --bg: #fdfdfb; --fg: #1d1d1b; --dim: #77776f; --line: #e4e4dc; --hit: #ffe27a; --chain: #fff4c7; --pick: #dcecff; --diff: #ffd6d6; }
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; background: var(--bg); color: var(--fg); font: 14px/1.4 system-ui, sans-serif; }
body { display: flex; flex-direction: column; }
header { padding: 8px 14px; border-bottom: 1px solid var(--line); }
header h1 { font-size: 17px; margin: 0 0 2px; }
header p { margin: 0; color: var(--dim); }
nav a { margin-right: 10px; }
main { flex: 1; min-height: 0; display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1.6fr) minmax(0, 1fr); }
main > section { overflow: auto; min-height: 0; border-right: 1px solid var(--line); }
h2 { font-size: 14px; margin: 0; padding: 6px 10px; position: sticky; top: 0; background: #efefe8; z-index: 1; }
h3 { font: 600 13px ui-monospace, monospace; margin: 10px 10px 2px; color: var(--dim); }
pre { margin: 0 0 8px; font: 12.5px/1.45 ui-monospace, SFMono-Regular, Menlo, monospace; tab-size: 4; }
.l { display: block; padding-right: 8px; white-space: pre; }
.n { display: inline-block; width: 3.2em; padding-right: 0.8em; text-align: right; color: var(--dim); user-select: none; }
.l.hit { background: var(--hit); }
.l.chain { background: var(--chain); }
table { border-collapse: collapse; width: 100%; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
td, th { padding: 1px 4px; vertical-align: top; white-space: nowrap; }
th { text-align: left; }
tbody th { font: 600 13px system-ui, sans-serif; padding-top: 10px; background: #f4f4ee; }
td.site { color: #35506b; }
td.call { width: 100%; white-space: pre-wrap; overflow-wrap: anywhere; }
tr.call { cursor: pointer; }
tr.call:hover { background: #f1f5fa; }
tr.call:focus { outline: 1px dotted #35506b; }
tr.picked { background: var(--pick) !important; }
tr.group td { color: var(--dim); font: italic 12px system-ui, sans-serif; padding-top: 4px; }
tr.folded { display: none; }
button.fold { font: inherit; color: inherit; background: none; border: 0; padding: 0; cursor: pointer; text-decoration: underline dotted; }
tr.o-startup td.site, tr.o-libc td.site, tr.o-end td { color: var(--dim); }
tr.o-inside td.site { color: #6b5a35; }
tr.differ td.call { background: var(--diff); }
.mark { color: #b00; }
"#;

const SCRIPT: &str = r#"
(function () {
  function lines(ids) {
    return ids ? ids.split(' ').map(function (i) { return document.getElementById(i); }).filter(Boolean) : [];
  }
  function center(pane, el) {
    var top = el.getBoundingClientRect().top - pane.getBoundingClientRect().top;
    pane.scrollTop += top - pane.clientHeight / 2;
  }
  function unfold(run, open) {
    document.querySelectorAll('tr[data-run="' + run + '"]').forEach(function (r) {
      r.classList.toggle('folded', !open);
    });
    var b = document.querySelector('button[data-run="' + run + '"]');
    if (b) b.setAttribute('aria-expanded', open ? 'true' : 'false');
  }
  function pick(tr, scroll) {
    if (tr.classList.contains('folded')) unfold(tr.getAttribute('data-run'), true);
    document.querySelectorAll('.hit, .chain, .picked').forEach(function (e) {
      e.classList.remove('hit', 'chain', 'picked');
    });
    tr.classList.add('picked');
    ['c', 'r'].forEach(function (side) {
      var ls = lines(tr.getAttribute('data-' + side));
      ls.forEach(function (l, i) { l.classList.add(i ? 'chain' : 'hit'); });
      if (ls[0]) center(document.getElementById(side + '-src'), ls[0]);
    });
    if (scroll) center(document.getElementById('trace'), tr);
    document.body.setAttribute('data-picked', tr.id);
  }
  var trace = document.getElementById('trace');
  trace.addEventListener('click', function (ev) {
    var b = ev.target.closest('button.fold');
    if (b) { unfold(b.getAttribute('data-run'), b.getAttribute('aria-expanded') !== 'true'); return; }
    var tr = ev.target.closest('tr.call');
    if (tr) { pick(tr, false); history.replaceState(null, '', '#' + tr.id); }
  });
  trace.addEventListener('keydown', function (ev) {
    var tr = ev.target.closest('tr.call');
    if (!tr) return;
    if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); pick(tr, false); }
  });
  document.body.setAttribute('data-calls', document.querySelectorAll('tr.call').length);
  var id = decodeURIComponent(location.hash.slice(1));
  var start = id && document.getElementById(id);
  if (!(start && start.classList.contains('call'))) {
    // The program's own first call, past the loader's.
    start = document.querySelector('tr.call.o-program');
  }
  if (start) {
    pick(start, true);
    // Again once the browser has scrolled to the address's row itself.
    window.addEventListener('load', function () {
      requestAnimationFrame(function () { pick(start, true); });
    });
  }
})();
"#;

/// One call's row; `run`, the id of the folded run it belongs to.
fn row(
    out: &mut String,
    task: usize,
    i: usize,
    r: &Row,
    (c, rust): (&Sources, &Sources),
    run: Option<&str>,
) {
    let origin = match r.origin {
        Origin::Startup => "startup",
        Origin::Program => "program",
        Origin::Inside => "inside",
        Origin::Libc => "libc",
        Origin::End => "end",
    };
    let (mark, differ) = if !r.same_line() {
        ("≠", " differ")
    } else if !r.same_site() {
        ("≉", " differ")
    } else {
        ("", "")
    };
    // The line, with what it called in the cell's title.
    let site = |call: &Option<Call>| {
        let Some(call) = call else {
            return "<td class=\"site\"></td>".to_string();
        };
        let short = match call.site() {
            Some((s, _)) if call.at.inferred => format!("{} *", s.short()),
            Some((s, _)) => s.short(),
            None => call
                .at
                .module
                .as_deref()
                .filter(|_| call.name() != "+++")
                .map_or(String::new(), |m| {
                    format!("({})", m.split(".so").next().unwrap_or(m))
                }),
        };
        // Where the line is not mapped, the title says why.
        let why = call
            .site()
            .and_then(|(s, _)| crate::trace::symbols::Resolved::why_unmapped(s))
            .map_or(String::new(), |w| format!("\n{w}"));
        format!(
            "<td class=\"site\" title=\"{}{}\">{}</td>",
            escape(&call.site_text()),
            escape(&why),
            escape(&short)
        )
    };
    let mut title = r.line().to_string();
    if !r.same_line()
        && let Some(other) = &r.rust
    {
        title = format!("C: {title}\nRust: {}", other.line);
    }
    let _ = writeln!(
        out,
        "<tr class=\"call o-{origin}{differ}{}\" id=\"call-{task}-{i}\" tabindex=\"0\"{} data-c=\"{}\" data-r=\"{}\">{}<td class=\"call\" title=\"{}\"><span class=\"mark\">{mark}</span>{}</td>{}</tr>",
        if run.is_some() { " folded" } else { "" },
        run.map_or(String::new(), |id| format!(" data-run=\"{id}\"")),
        c.ids(r.c.as_ref()),
        rust.ids(r.rust.as_ref()),
        site(&r.c),
        escape(&title),
        escape(r.line()),
        site(&r.rust),
    );
}

/// The whole page.
pub fn page(e: &Explained) -> String {
    let all = |side: fn(&super::TaskPair) -> Option<&super::Task>| {
        e.tasks
            .iter()
            .filter_map(side)
            .flat_map(|t| t.calls.iter().cloned())
            .collect::<Vec<_>>()
    };
    let c_main = e.program.c_sources.first().copied().unwrap_or("");
    let rust_main = format!("/{}.rs", e.program.name);
    let c = Sources::new("c", c_main, all(|t| t.c.as_ref()).into_iter());
    let rust = Sources::new("r", &rust_main, all(|t| t.rust.as_ref()).into_iter());

    let name = escape(e.program.name);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{name}: every system call and the line that made it</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
    );
    let _ = writeln!(
        out,
        "<header>\n<h1>{name}: every system call, beside the C line and the Rust line that made it</h1>\n\
         <p>{} tasks, traced with <code>strace -f -k</code> through the session of its model. \
         Choose a call to see the line that made it on each side; the functions it went through are lit more lightly. \
         ≠ the twins' calls differ, ≉ they were made from functions of different names.</p>",
        e.tasks.len()
    );
    out.push_str("<nav>");
    for (i, t) in e.tasks.iter().enumerate() {
        let _ = write!(out, "<a href=\"#task-{i}\">task {i} ({})</a>", t.rows.len());
    }
    out.push_str("</nav>\n</header>\n<main>\n");
    c.render(&mut out, "C");
    out.push_str("<section id=\"trace\" aria-label=\"the trace\">\n<h2>the calls</h2>\n<table>\n");
    out.push_str("<thead><tr><th>C</th><th>call</th><th>Rust</th></tr></thead>\n");
    for (ti, t) in e.tasks.iter().enumerate() {
        let _ = writeln!(
            out,
            "<tbody><tr class=\"task\"><th colspan=\"3\" id=\"task-{ti}\">task {ti}{} ({}): {}, {} calls</th></tr>",
            if ti == 0 { ", the main task" } else { "" },
            t.pids(),
            if t.identical {
                "identical"
            } else {
                "DIFFERENT lines"
            },
            t.rows.len()
        );
        let mut run = None;
        for (i, r) in t.rows.iter().enumerate() {
            if r.origin != Origin::Startup {
                run = None;
            }
            if let Some(g) = super::text::group(&t.rows, i, ti == 0) {
                if r.origin == Origin::Startup {
                    let id = format!("run-{ti}-{i}");
                    let _ = writeln!(
                        out,
                        "<tr class=\"group\"><td colspan=\"3\"><button type=\"button\" class=\"fold\" data-run=\"{id}\" aria-expanded=\"false\">{} ▸</button></td></tr>",
                        escape(&g)
                    );
                    run = Some(id);
                } else {
                    let _ = writeln!(
                        out,
                        "<tr class=\"group\"><td colspan=\"3\">{}</td></tr>",
                        escape(&g)
                    );
                }
            }
            row(&mut out, ti, i, r, (&c, &rust), run.as_deref());
        }
        out.push_str("</tbody>\n");
    }
    // What strace cannot see: an io_uring program's queued operations.
    if let Ok(Some((ops, lost))) = super::queued::rows(e.program, &e.dir) {
        let _ = writeln!(
            out,
            "<tbody><tr class=\"task\"><th colspan=\"3\" id=\"queued\">the {} operations queued in the ring, which strace does not show (read from each twin's submission queue{})</th></tr>",
            ops.len(),
            if lost > 0 {
                format!("; the first {lost} were overwritten")
            } else {
                String::new()
            }
        );
        for (c, op, r, same) in ops {
            let _ = writeln!(
                out,
                "<tr class=\"op\"><td>{}</td><td>{}{}</td><td>{}</td></tr>",
                escape(&c),
                if same { "" } else { "≠ " },
                escape(&op),
                escape(&r)
            );
        }
        out.push_str("</tbody>\n");
    }
    out.push_str("</table>\n</section>\n");
    rust.render(&mut out, "Rust");
    let _ = write!(
        out,
        "</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    );
    out
}
