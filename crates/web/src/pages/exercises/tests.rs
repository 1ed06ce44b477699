//! Exercises through the pages: who plans them, exercise mode (a browser's cookie) making
//! incidents, reports and orders in the exercise, the mark on every page and file that shows
//! them, unit by unit, and clearing them without touching real records.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::header;
use domain::{Role, StateViewExt};

use crate::backend::Backend;
use crate::test_backend::{MemBackend, text};

#[tokio::test]
async fn records_made_in_exercise_mode_are_marked_everywhere_and_cleared_afterwards() {
    let d = domain::demo_data::demo();
    let a = &d.units[0];
    let bu = &d.units[1];
    let article = d.articles.iter().find(|x| !x.withdrawn).unwrap();
    let (b, tokens) = MemBackend::demo(&[
        ("nurse-a", Role::Staff, &[a.id.as_str()]),
        ("nurse-b", Role::Staff, &[bu.id.as_str()]),
        ("comms", Role::Communicator, &[]),
    ]);
    let with = |who: &str, method: &str, path: &str, body: Option<String>, cookie: Option<&str>| {
        let mut r =
            MemBackend::request(method, path, &tokens[who], body.map(|b| ("application/x-www-form-urlencoded", b)));
        if let Some(c) = cookie {
            r.headers_mut().insert(header::COOKIE, c.parse().unwrap());
        }
        r
    };
    let lang = documents::i18n::Lang::Sv;
    let now = time::OffsetDateTime::now_utc();
    let enc = |s: &str| s.replace(' ', "+").replace(':', "%3A");
    let (from, to) = (
        enc(&lang.local_input(now - time::Duration::minutes(5))),
        enc(&lang.local_input(now + time::Duration::hours(2))),
    );
    let plan = |name: &str| format!("name={name}&starts_at={from}&ends_at={to}");

    // Who plans: not staff. Bad input: a clear error and nothing planned.
    assert_eq!(b.send(with("nurse-a", "POST", "/exercises", Some(plan("X")), None)).await.status(), 403);
    let (status, html) = text(b.send(with("comms", "POST", "/exercises", Some(plan("+")), None)).await).await;
    assert_eq!(status, 422);
    assert!(html.contains("f-name-error"), "{html}");
    assert!(documents::exercises::all(b.view().as_ref()).unwrap().is_empty());
    let res = b.send(with("comms", "POST", "/exercises", Some(plan("Stabs%C3%B6vning+elavbrott")), None)).await;
    assert_eq!(res.status(), 303);
    let x = documents::exercises::all(b.view().as_ref()).unwrap().remove(0);

    // Running: a strip on everyone's pages, also logged out.
    let anon = axum::http::Request::builder().uri("/status").body(axum::body::Body::empty()).unwrap();
    let (_, html) = text(b.send(anon).await).await;
    assert!(html.contains("ÖVNING pågår: Stabsövning elavbrott"), "{html}");

    // A nurse works in it: the browser keeps the choice in a cookie.
    let res = b.send(with("nurse-a", "POST", &format!("/exercises/{}/join", x.id), Some(String::new()), None)).await;
    assert_eq!(res.status(), 303);
    let set = res.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set.starts_with(&format!("beredd_exercise={}", x.id)) && set.contains("HttpOnly"), "{set}");
    let cookie = format!("beredd_exercise={}", x.id);
    let mode = Some(cookie.as_str());
    let (_, html) = text(b.send(with("nurse-a", "GET", "/", None, mode)).await).await;
    assert!(html.contains("exercise-mode") && html.contains("Du arbetar i övningen"), "{html}");

    // A real report, then one in the exercise: the real overview keeps the real one.
    let report = |light: &str, needs: &str| format!("unit={}&light={light}&needs={needs}", a.id);
    assert_eq!(b.send(with("nurse-a", "POST", "/reports", Some(report("green", "Inget")), None)).await.status(), 303);
    assert_eq!(b.send(with("nurse-a", "POST", "/reports", Some(report("red", "Generator")), mode)).await.status(), 303);
    let latest =
        |x: Option<&domain::ExerciseId>| domain::reports::latest(b.view().as_ref(), &a.id, x).unwrap().unwrap();
    assert_eq!((latest(None).light.as_str(), latest(Some(&x.id)).light.as_str()), ("green", "red"));
    let (_, real) = text(b.send(with("nurse-a", "GET", "/reports", None, None)).await).await;
    assert!(real.contains("Inget") && !real.contains("Generator"), "{real}");
    let (_, drill) = text(b.send(with("nurse-a", "GET", "/reports", None, mode)).await).await;
    assert!(drill.contains("Generator") && drill.contains("mark-exercise"), "{drill}");
    let (_, history) = text(b.send(with("nurse-a", "GET", &format!("/reports/unit/{}", a.id), None, None)).await).await;
    assert_eq!(history.matches("class=\"mark-exercise\"").count(), 1, "one of two reports marked: {history}");

    // An incident in the exercise: marked on the board, in the banner and in the feed.
    let incident = "title=Str%C3%B6mavbrott+hus+4&impact=major&body=Reservkraft&next_in=60";
    let res = b.send(with("comms", "POST", "/status/manage/incident", Some(incident.into()), mode)).await;
    assert_eq!(res.status(), 303);
    let (_, board) = text(b.send(with("nurse-b", "GET", "/status", None, None)).await).await;
    let banner = board.split("major-incident").nth(1).and_then(|s| s.split("</div>").next()).unwrap_or_default();
    assert!(banner.contains("<strong>ÖVNING – ") && banner.contains("Strömavbrott hus 4"), "banner: {board}");
    assert!(board.contains("<span class=\"mark-exercise\">ÖVNING</span> Strömavbrott hus 4"), "board: {board}");
    let anon = axum::http::Request::builder().uri("/status/feed.atom").body(axum::body::Body::empty()).unwrap();
    let (_, atom) = text(b.send(anon).await).await;
    assert!(atom.contains("ÖVNING: ") && atom.contains("Strömavbrott hus 4"), "{atom}");

    // An order in the exercise: marked on its page and in its files.
    let order = format!(
        "form=x-o-1&op=submit&unit={}&lines=1&line-0-article={}&line-0-quantity=2&line-0-note=",
        a.id, article.id
    );
    assert_eq!(b.send(with("nurse-a", "POST", "/orders/new", Some(order), mode)).await.status(), 303);
    let o = b.view().order(domain::OrderId::new("x-o-1")).unwrap().unwrap();
    assert_eq!(o.exercise.as_ref(), Some(&x.id));
    let (_, page) = text(b.send(with("nurse-a", "GET", &format!("/orders/{}", o.id), None, None)).await).await;
    assert!(page.contains("mark-exercise"), "{page}");
    let (_, list) = text(b.send(with("nurse-a", "GET", "/orders", None, None)).await).await;
    assert!(list.contains(&o.number) && list.contains("mark-exercise"), "{list}");
    let csv = format!("/api/v1/orders/{}/export?format=csv&lang=sv", o.id);
    let (_, file) = text(b.send(with("nurse-a", "GET", &csv, None, None)).await).await;
    assert!(file.contains(&format!("ÖVNING: {}", o.number)), "{file}");

    // The exercise's page lists what was made; another unit's staff see no link to unit A's.
    let one = format!("/exercises/{}", x.id);
    let (_, list) = text(b.send(with("nurse-a", "GET", &one, None, None)).await).await;
    assert!(list.contains(&format!("/orders/{}", o.id)) && list.contains(&format!("/reports/unit/{}", a.id)), "{list}");
    // Communicators do not read orders: listed by kind alone.
    let (_, list) = text(b.send(with("comms", "GET", &one, None, None)).await).await;
    assert!(list.contains("data-made-kind=\"order\"") && !list.contains(&format!("/orders/{}", o.id)), "{list}");
    let (_, list) = text(b.send(with("nurse-b", "GET", &one, None, None)).await).await;
    assert!(!list.contains(&format!("/orders/{}", o.id)) && !list.contains(&o.number), "{list}");
    assert!(!list.contains(&format!("/reports/unit/{}", a.id)), "{list}");

    // Cleared only after it ends; then the exercise's records are gone and the real one stays.
    let act = |what: &str| with("comms", "POST", &format!("/exercises/{}/{what}", x.id), Some(String::new()), None);
    assert_eq!(
        b.send(with("nurse-a", "POST", &format!("/exercises/{}/end", x.id), Some(String::new()), None)).await.status(),
        403
    );
    assert_eq!(b.send(act("clear")).await.status(), 422, "still running");
    assert_eq!(b.send(act("end")).await.status(), 303);
    assert_eq!(b.send(act("clear")).await.status(), 303);
    assert!(b.view().order(domain::OrderId::new("x-o-1")).unwrap().is_none());
    let (_, list) = text(b.send(with("nurse-a", "GET", "/orders", None, None)).await).await;
    assert!(!list.contains(&o.number) && !list.contains("mark-exercise"), "the lists forget it too: {list}");
    assert!(domain::reports::latest(b.view().as_ref(), &a.id, Some(&x.id)).unwrap().is_none());
    assert_eq!(latest(None).needs, "Inget");
    // Exercise mode ends with the exercise: the cookie is no longer honoured.
    let (_, html) = text(b.send(with("nurse-a", "GET", "/", None, mode)).await).await;
    assert!(!html.contains("exercise-mode") && !html.contains("ÖVNING pågår"), "{html}");
}
