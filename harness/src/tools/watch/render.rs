//! The view of a frame: ratatui widgets for the terminal, and the same
//! rows as plain text for `--frames`.

use super::snapshot::{FdRow, Snapshot, TaskRow};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table, Wrap};

/// The smallest terminal the view fits in.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 12;

/// The keys, as the help and the last line show them.
pub const KEYS: &[(&str, &str)] = &[
    ("i", "connect an idle client"),
    ("b", "a busy client: a line every 100 ms"),
    ("r", "a client that resets at once"),
    ("n", "a client that never reads its replies"),
    ("c", "close the newest client"),
    ("m", "a burst of 100 idle clients"),
    ("?", "this help"),
    ("q", "stop the server (SIGTERM) and quit"),
];

/// What the view shows besides the frame.
#[derive(Clone, Debug, Default)]
pub struct View {
    /// The server's name, as the title shows it.
    pub name: String,
    pub snap: Snapshot,
    /// What the last key did.
    pub status: String,
    /// The last lines the server printed.
    pub output: Vec<String>,
    pub help: bool,
}

/// The columns of the task table.
const HEADER: [&str; 7] = ["PID", "TID", "S", "CALL", "WAKE/s", "CPU ms", "CLIENT"];
const WIDTHS: [u16; 7] = [12, 8, 2, 16, 7, 7, 24];

/// A task's cells: its pid indented by its depth in the tree.
fn cells(t: &TaskRow) -> [String; 7] {
    let indent = "  ".repeat(t.depth.min(4));
    let peer = match (&t.peer, t.peers) {
        (Some(p), n) if n > 1 => format!("{p} +{}", n - 1),
        (Some(p), _) => p.clone(),
        (None, _) => String::new(),
    };
    let call = match (&t.syscall, t.state) {
        (_, 'Z') => "(zombie)".to_string(),
        (Some(c), _) => c.clone(),
        (None, _) => "(running)".to_string(),
    };
    [
        format!("{indent}{}", t.pid),
        if t.tid == t.pid {
            String::new()
        } else {
            t.tid.to_string()
        },
        t.state.to_string(),
        call,
        t.wakeups
            .map_or_else(|| "-".to_string(), |w| format!("{w:.0}")),
        t.cpu_ms.to_string(),
        peer,
    ]
}

/// The title line: the server, its listening socket, clients, zombies,
/// and how it ended.
pub fn title(v: &View) -> String {
    let s = &v.snap;
    let mut line = format!(
        "{} pid {} :{}  accept queue {}/{}  accepted ≥{}  clients {}  zombies {}  tasks {}  fds {}",
        v.name,
        s.pid,
        s.port,
        s.queued,
        s.backlog,
        s.accepted,
        s.clients,
        s.zombies,
        s.tasks.len(),
        s.fds.len()
    );
    if let Some(n) = s.coroutines {
        line.push_str(&format!("  coroutines {n}"));
    }
    if let Some(e) = &s.ended {
        line.push_str(&format!("  ENDED: {e}"));
    }
    line
}

/// Each process's descriptors on one line: `1234: 0 /dev/null, 3 listen
/// :8000, 5-37 tcp (33)`: a run of three or more client sockets in a row
/// is shown as one.
pub fn fd_lines(fds: &[FdRow]) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut i = 0;
    while i < fds.len() {
        let f = &fds[i];
        let tcp = |g: &FdRow, n: usize| {
            g.pid == f.pid && g.what.starts_with("tcp ") && g.fd == f.fd + n as i32
        };
        let run = fds[i..]
            .iter()
            .enumerate()
            .take_while(|(n, g)| tcp(g, *n))
            .count();
        let item = if run >= 3 {
            format!("{}-{} tcp ({run})", f.fd, f.fd + run as i32 - 1)
        } else {
            format!("{} {}", f.fd, f.what)
        };
        match lines.last_mut() {
            Some(l) if i > 0 && fds[i - 1].pid == f.pid => l.push_str(&format!(", {item}")),
            _ => lines.push(format!("{}: {item}", f.pid)),
        }
        i += if run >= 3 { run } else { 1 };
    }
    lines
}

/// The frame as plain text: the title, the task table, the descriptors.
pub fn text(v: &View) -> String {
    let row = |c: &[String]| {
        let cols: Vec<String> = c
            .iter()
            .zip(WIDTHS)
            .map(|(s, w)| format!("{s:<w$}", w = w as usize))
            .collect();
        cols.join(" ").trim_end().to_string()
    };
    let mut out = vec![title(v)];
    out.push(row(&HEADER.map(String::from)));
    out.extend(v.snap.tasks.iter().map(|t| row(&cells(t))));
    out.push("descriptors:".to_string());
    out.extend(fd_lines(&v.snap.fds).into_iter().map(|l| format!("  {l}")));
    if v.snap.ended.is_some() && !v.output.is_empty() {
        out.push("the server's last lines:".to_string());
        out.extend(v.output.iter().map(|l| format!("  {l}")));
    }
    out.join("\n") + "\n"
}

/// What stays on the terminal after the view: the last title, and the
/// server's last lines (what it printed as it stopped).
pub fn summary(v: &View) -> String {
    let mut out = vec![title(v)];
    if !v.output.is_empty() {
        out.push("the server's last lines:".to_string());
        out.extend(v.output.iter().map(|l| format!("  {l}")));
    }
    out.join("\n")
}

/// Draws the view on the whole of `f`.
pub fn draw(f: &mut Frame, v: &View) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(f, area);
        return;
    }
    let heading = wrapped(&[title(v)], "  ", area.width);
    let fds = wrapped(&fd_lines(&v.snap.fds), ", ", area.width);
    let fd_height = (fds.len() as u16 + 1).clamp(3, area.height / 3);
    let out_height = if v.output.is_empty() { 0 } else { 4 };
    let [top, tasks, descriptors, output, bottom] = Layout::vertical([
        Constraint::Length(heading.len() as u16),
        Constraint::Min(3),
        Constraint::Length(fd_height),
        Constraint::Length(out_height),
        Constraint::Length(1),
    ])
    .areas(area);
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let heading: Vec<Line> = heading.into_iter().map(Line::from).collect();
    f.render_widget(Paragraph::new(heading).style(bold), top);
    // Below the border and the header.
    let rows = tasks.height.saturating_sub(2) as usize;
    f.render_widget(task_table(&v.snap, rows), tasks);
    let fd_text: Vec<Line> = fitted(fds, descriptors.height.saturating_sub(1) as usize, "lines")
        .into_iter()
        .map(Line::from)
        .collect();
    f.render_widget(
        Paragraph::new(fd_text).block(Block::default().borders(Borders::TOP).title("descriptors")),
        descriptors,
    );
    let out_text: Vec<Line> = v.output.iter().map(|l| Line::from(l.as_str())).collect();
    f.render_widget(
        Paragraph::new(out_text).block(Block::default().borders(Borders::TOP).title("server")),
        output,
    );
    f.render_widget(Paragraph::new(footer(v)), bottom);
    if v.help {
        help(f, area);
    }
}

/// `lines` cut to `width` columns at `sep` where they can be (a piece
/// longer than a line is cut where it must), the pieces after the first
/// indented.
fn wrapped(lines: &[String], sep: &str, width: u16) -> Vec<String> {
    let width = usize::from(width.max(8));
    let mut out = Vec::new();
    for line in lines {
        let mut cur = String::new();
        for (i, piece) in line.split(sep).enumerate() {
            let piece = if i > 0 {
                format!("{sep}{piece}")
            } else {
                piece.to_string()
            };
            if !cur.is_empty() && cur.chars().count() + piece.chars().count() > width {
                out.push(std::mem::replace(&mut cur, "  ".to_string()));
                cur.push_str(piece.trim_start_matches(sep).trim_start());
            } else {
                cur.push_str(&piece);
            }
            while cur.chars().count() > width {
                let at = cur.char_indices().nth(width).map_or(cur.len(), |(b, _)| b);
                let rest = format!("  {}", &cur[at..]);
                cur.truncate(at);
                out.push(std::mem::replace(&mut cur, rest));
            }
        }
        out.push(cur);
    }
    out
}

/// The first of `lines` that fit in `room`, the last of them saying how
/// many more there are.
fn fitted(mut lines: Vec<String>, room: usize, what: &str) -> Vec<String> {
    if lines.len() > room && room > 0 {
        let more = lines.len() - (room - 1);
        lines.truncate(room - 1);
        lines.push(format!("... {more} more {what} (a taller terminal)"));
    }
    lines
}

/// The task table, its header bold, in `room` rows.
fn task_table(s: &Snapshot, room: usize) -> Table<'static> {
    let mut rows: Vec<Row> = s
        .tasks
        .iter()
        .take(room)
        .map(|t| Row::new(cells(t)))
        .collect();
    if s.tasks.len() > room && room > 0 {
        rows.truncate(room - 1);
        let more = s.tasks.len() - (room - 1);
        let note = [
            "...",
            "",
            "",
            &format!("{more} more tasks"),
            "",
            "",
            "(a taller terminal)",
        ];
        rows.push(Row::new(note.map(String::from)));
    }
    Table::new(rows, WIDTHS.map(Constraint::Length))
        .header(Row::new(HEADER).style(Style::default().add_modifier(Modifier::BOLD)))
        .block(Block::default().borders(Borders::TOP).title("tasks"))
}

/// The last line: how the server ended, what the last key did, or the keys.
fn footer(v: &View) -> String {
    if let Some(e) = &v.snap.ended {
        format!("the server has ended: {e}. q quits")
    } else if v.status.is_empty() {
        "keys: i idle  b busy  r reset  n never reads  c close  m 100  ? help  q quit".to_string()
    } else {
        format!("{}   (? for the keys)", v.status)
    }
}

/// The keys, in a box over the middle of the view.
fn help(f: &mut Frame, area: Rect) {
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, what)| Line::from(format!(" {k}  {what}")))
        .collect();
    let h = (lines.len() as u16 + 2).min(area.height);
    let w = 50.min(area.width);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title("keys")),
        r,
    );
}

/// What a terminal too small gets: its size, and what would fit.
fn too_small(f: &mut Frame, area: Rect) {
    let msg = format!(
        "terminal {}x{}: the view needs {MIN_WIDTH}x{MIN_HEIGHT}. q quits",
        area.width, area.height
    );
    f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
}
