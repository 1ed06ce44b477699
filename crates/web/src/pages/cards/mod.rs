//! `/cards` and `/cards/{id}`: the action cards for every signed-in user — the ones that apply
//! now first (a linked system is not operational), then all by category — and one card with
//! its sections rendered from Markdown (sanitised), its review date and its earlier versions.
//! Printing gives one card per page (`/cards?print=all` holds every card).

pub mod form;

use askama::Template;
use axum::extract::{Path, Query};
use domain::cards::{ActionCard, Category};
use serde::Deserialize;
use time::OffsetDateTime;

use super::chrome::{Chrome, Ctx, PageResult, render};
use documents::cards::Cards;
use documents::markdown::to_html;

#[derive(Template)]
#[template(path = "cards/list.html")]
struct ListPage<'a> {
    c: Chrome,
    cards: &'a Cards,
    now: Vec<&'a ActionCard>,
    print_all: bool,
    today: time::Date,
    /// Whether the reader may write and revise cards.
    editor: bool,
}

#[derive(Template)]
#[template(path = "cards/card.html")]
struct CardPage<'a> {
    c: Chrome,
    cards: &'a Cards,
    card: &'a ActionCard,
    today: time::Date,
    editor: bool,
}

/// What both pages need to show a card.
trait CardText {
    fn chrome(&self) -> &Chrome;
    fn deck(&self) -> &Cards;
    fn today(&self) -> time::Date;

    fn md(&self, s: &str) -> String {
        to_html(s)
    }
    fn category(&self, c: &Category) -> &'static str {
        self.chrome().t(format!("cards.cat_{}", c.as_str()))
    }
    fn overdue(&self, card: &ActionCard) -> bool {
        card.review_overdue(self.today())
    }
    fn down(&self, card: &ActionCard) -> String {
        self.deck().down_systems(card).iter().map(|s| s.name.clone()).collect::<Vec<_>>().join(", ")
    }
    fn systems(&self, card: &ActionCard) -> String {
        card.systems.iter().map(|s| self.deck().system_name(s)).collect::<Vec<_>>().join(", ")
    }
}

impl CardText for ListPage<'_> {
    fn chrome(&self) -> &Chrome {
        &self.c
    }
    fn deck(&self) -> &Cards {
        self.cards
    }
    fn today(&self) -> time::Date {
        self.today
    }
}

impl CardText for CardPage<'_> {
    fn chrome(&self) -> &Chrome {
        &self.c
    }
    fn deck(&self) -> &Cards {
        self.cards
    }
    fn today(&self) -> time::Date {
        self.today
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    print: Option<String>,
}

pub async fn list(ctx: Ctx, Query(q): Query<ListQuery>) -> PageResult {
    let ctx = ctx.in_section("cards");
    let editor = super::contacts::forms::may_edit(&ctx.user()?);
    let cards = Cards::load(ctx.backend.view().as_ref())?;
    let now = cards.now();
    let page = ListPage {
        c: ctx.c,
        cards: &cards,
        now,
        print_all: q.print.as_deref() == Some("all"),
        today: OffsetDateTime::now_utc().date(),
        editor,
    };
    render(&page)
}

pub async fn one(ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let ctx = ctx.in_section("cards");
    let editor = super::contacts::forms::may_edit(&ctx.user()?);
    let cards = Cards::load(ctx.backend.view().as_ref())?;
    let Some(card) = cards.get(&id) else { return Err(ctx.not_found()) };
    let today = OffsetDateTime::now_utc().date();
    render(&CardPage { c: ctx.c, cards: &cards, card, today, editor })
}
