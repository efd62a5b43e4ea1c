//! The full-screen view: the terminal in raw mode on its alternate
//! screen, a frame every interval, a key at a time; and the terminal as
//! it was found on the way out, whatever the way.

use super::Watched;
use super::pokes::{Clients, Kind};
use super::render::{self, View};
use crate::Result;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::crossterm::{cursor, execute, terminal};
use std::io::Stdout;
use std::time::{Duration, Instant};

/// Raw mode and the alternate screen, undone when dropped.
struct Screen(Terminal<CrosstermBackend<Stdout>>);

impl Screen {
    fn enter() -> Result<Screen> {
        terminal::enable_raw_mode().map_err(|e| format!("raw mode: {e}"))?;
        let mut out = std::io::stdout();
        let entered = execute!(out, terminal::EnterAlternateScreen, cursor::Hide);
        let t = Terminal::new(CrosstermBackend::new(out));
        match (entered, t) {
            (Ok(()), Ok(t)) => Ok(Screen(t)),
            (Err(e), _) | (_, Err(e)) => {
                restore();
                Err(format!("terminal: {e}"))
            }
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves the alternate screen, shows the cursor, ends raw mode.
pub fn restore() {
    let _ = execute!(
        std::io::stdout(),
        terminal::LeaveAlternateScreen,
        cursor::Show
    );
    let _ = terminal::disable_raw_mode();
}

/// What a key asks for.
enum Act {
    Quit,
    Poke,
    None,
}

/// Runs the view until `q`, Ctrl-C or a signal; what became of the server.
pub fn run(w: &mut Watched, interval: Duration) -> Result<String> {
    let mut clients = Clients::new(w.port);
    let mut view = View {
        name: w.name.clone(),
        ..View::default()
    };
    let mut screen = Screen::enter()?;
    let mut next = Instant::now();
    while !super::stopped() {
        if Instant::now() >= next {
            view.snap = w.frame(&view.snap);
            view.output = w.output();
            next = Instant::now() + interval;
        }
        screen
            .0
            .draw(|f| render::draw(f, &view))
            .map_err(|e| e.to_string())?;
        let wait = next.saturating_duration_since(Instant::now());
        if !event::poll(wait).map_err(|e| e.to_string())? {
            continue;
        }
        let Event::Key(key) = event::read().map_err(|e| e.to_string())? else {
            continue;
        };
        match act(key, &mut view, &mut clients, w.ended()) {
            Act::Quit => break,
            Act::Poke => next = Instant::now(),
            Act::None => {}
        }
    }
    drop(clients);
    let ended = w.terminate();
    view.snap = w.frame(&view.snap);
    view.output = w.output();
    drop(screen);
    Ok(format!("{}\nthe server: {ended}", render::summary(&view)))
}

/// Carries out `key`: a client, the help, or the end.
fn act(key: KeyEvent, view: &mut View, clients: &mut Clients, ended: bool) -> Act {
    if key.kind != KeyEventKind::Press {
        return Act::None;
    }
    let ctrl_c = key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
    let KeyCode::Char(c) = key.code else {
        return if key.code == KeyCode::Esc {
            Act::Quit
        } else {
            Act::None
        };
    };
    if ctrl_c || c == 'q' {
        return Act::Quit;
    }
    if c == '?' || c == 'h' {
        view.help = !view.help;
        return Act::None;
    }
    if ended {
        return Act::None;
    }
    let done = match c {
        'i' => clients.open(Kind::Idle),
        'b' => clients.open(Kind::Busy),
        'n' => clients.open(Kind::NeverReads),
        'r' => clients.reset(),
        'm' => clients.burst(100),
        'c' => Ok(clients.close_newest()),
        _ => return Act::None,
    };
    view.status = match done {
        Ok(s) => format!("{s}; {} open", clients.len()),
        Err(e) => e,
    };
    view.help = false;
    Act::Poke
}
