//! The school calendar: periods, terms and holidays, and due times taken from them.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use kitroom_core::calendar::Calendar;
use kitroom_tests::spawn_app;
use serde_json::Value;

const LAPTOP: &[(&str, &str)] = &[
    ("tag", "LAP-1"),
    ("kind", "laptop"),
    ("location", "Computer room"),
];

/// The Monday of the week after next: a week that is wholly in the future.
fn a_future_monday() -> NaiveDate {
    let today = Utc::now().date_naive();
    let mut d = today + Duration::days(8);
    while d.weekday() != Weekday::Mon {
        d += Duration::days(1);
    }
    d
}

/// A teacher told to bring a laptop back in half term would find the school shut,
/// and nobody would tell them the loan had moved.
#[tokio::test]
async fn a_loan_due_in_a_holiday_moves_to_the_first_school_day_after_and_the_borrower_is_told() {
    let app = spawn_app().await;
    let admin = app.signed_in("it", "admin").await;
    let monday = a_future_monday();
    let friday = monday + Duration::days(4);
    let holiday = format!("Half term, {monday} to {friday}");
    let r = app
        .submit(
            &admin,
            "/calendar",
            "/calendar",
            &[
                ("periods", "Period 1, 08:50-09:50\nPeriod 3, 11:15-12:15"),
                ("terms", ""),
                ("holidays", &holiday),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "the calendar is saved");
    let page = app.page(&admin, "/calendar").await;
    assert!(page.contains(&holiday), "the calendar shows what was saved");

    app.register_device(&admin, LAPTOP).await;
    app.publish_policy(&admin, "v1").await;
    app.add_user("jo", "borrower").await;
    let jo = app.client();
    app.login(&jo, "jo", kitroom_tests::PASSWORD).await;
    app.sign_policy(&jo, "Jo Test").await;

    // the manager (here the admin) lends it to Jo until the Wednesday of half term
    let wednesday = (monday + Duration::days(2)).to_string();
    let r = app
        .check_out(
            &admin,
            "LAP-1",
            &[("borrower", "jo"), ("due_on", &wednesday)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = app.page(&admin, "/devices/LAP-1").await;
    let next_monday = monday + Duration::days(7);
    let expected = Calendar::at(next_monday, NaiveTime::from_hms_opt(15, 30, 0).unwrap());
    assert!(
        page.contains(&format!("until {}", kitroom_web::time::when(expected))),
        "the flash names the Monday after half term"
    );
    assert!(
        page.contains("it is in the holiday Half term"),
        "and says why"
    );

    // Jo is told, in the app, and sees it on the home page
    let notes = app.page(&jo, "/notifications").await;
    assert!(notes.contains("LAP-1 is due back"), "{notes}");
    assert!(notes.contains("Half term"));
    let home = app.page(&jo, "/").await;
    assert!(home.contains("so it was moved to the first school day after"));

    // the API says the same
    let token = app.token_for("jo").await;
    let loans: Value = reqwest::Client::new()
        .get(app.url("/api/v1/loans?open=true&borrower=jo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let loan = &loans["items"][0];
    let due: chrono::DateTime<Utc> = loan["due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due, expected);
    let from: chrono::DateTime<Utc> = loan["due_moved_from"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        from,
        Calendar::at(
            monday + Duration::days(2),
            NaiveTime::from_hms_opt(15, 30, 0).unwrap()
        )
    );
}

/// "Return at the end of period 3" would be the end of the day, or the wrong hour
/// after the clocks change.
#[tokio::test]
async fn a_loan_can_be_due_at_the_end_of_a_period() {
    let app = spawn_app().await;
    let admin = app.signed_in("it", "admin").await;
    let r = app
        .submit(
            &admin,
            "/calendar",
            "/calendar",
            &[("periods", "Period 3, 11:15-12:15")],
        )
        .await;
    assert_eq!(r.status(), 303);
    app.register_device(&admin, LAPTOP).await;
    app.publish_policy(&admin, "v1").await;
    app.sign_policy(&admin, "It Test").await;
    let page = app.page(&admin, "/devices/LAP-1").await;
    assert!(
        page.contains("Return at the end of"),
        "the periods are offered"
    );
    let day = a_future_monday();
    let r = app
        .check_out(
            &admin,
            "LAP-1",
            &[("due_on", &day.to_string()), ("due_period", "Period 3")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let loan = app
        .store()
        .list_loans(kitroom_core::school::SchoolId::FIRST, &Default::default())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        loan.due_at,
        Calendar::at(day, NaiveTime::from_hms_opt(12, 15, 0).unwrap())
    );
    assert_eq!(loan.due_moved_from, None);
}

/// A mistyped calendar line would be lost, or saved as something else.
#[tokio::test]
async fn a_bad_calendar_line_is_refused_with_its_line_number_and_the_input_kept() {
    let app = spawn_app().await;
    let admin = app.signed_in("it", "admin").await;
    let r = app
        .submit(
            &admin,
            "/calendar",
            "/calendar",
            &[
                ("periods", "Period 1, 09:00-10:00\nPeriod 2 at ten"),
                ("holidays", "Half term, 2026-10-30 to 2026-10-26"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Line 2: Write a period as its name"),
        "{page}"
    );
    assert!(page.contains("Half term must end on or after the day it starts."));
    assert!(page.contains("Period 2 at ten"), "the input is kept");
    assert!(
        app.store()
            .calendar(kitroom_core::school::SchoolId::FIRST)
            .await
            .unwrap()
            .periods
            .is_empty(),
        "nothing saved"
    );
}
