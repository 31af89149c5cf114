//! The HTTP routes of the resource directory, declared once (see `doors`).

use doors::{Declared, Door, Object, PathId, PathIds, Route};
use permissions::Action;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::SERVICE;
use crate::availability::*;
use crate::endpoints as ep;

const TAG: &str = "directory";

/// A site in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AvailabilitySitePath {
    /// The site's id (a UUID).
    #[param(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub site_id: String,
}

impl PathIds for AvailabilitySitePath {
    const IDS: &'static [PathId] = &[PathId::new("site_id", Object::Site)];
}

pub fn api() -> doors::Api {
    const TAGS: &[doors::Tag] = &[doors::Tag {
        name: TAG,
        description: "The resource directory (事業所さがし): each site says what it can take now — new users yes, no or with conditions, new clients, vacancies — and each status shows how fresh it is. Never patient data",
    }];
    doors::Api {
        tags: TAGS,
        routes: routes(),
    }
}

fn routes() -> Vec<Declared> {
    const READ: Door = Door::Signed(&[Action::ReadResources]);
    const UPDATE: Door = Door::Signed(&[Action::UpdateAvailability]);
    const LISTING: Door = Door::Signed(&[Action::UpdateProviderEntry]);
    vec![
        Route::get("list_availability", "/api/v1/availability")
            .tag(TAG)
            .summary("What the sites of your municipality can take now: each site's latest status (new users yes / no / with conditions, new clients, vacancies), who said it and when, and whether it is still fresh (then its age).")
            .door(READ)
            .service(SERVICE, ep::LIST_AVAILABILITY, |_, _, _| Ok(ListAvailability {}))
            .reads_after()
            .answers::<AvailabilityBoard>(200, "the latest status of each site that gave one, latest first")
            .into(),
        Route::get("site_availability", "/api/v1/sites/{site_id}/availability")
            .tag(TAG)
            .summary("One site's latest status and every update before it, newest first: who said what, when. A site of another municipality answers as one that does not exist.")
            .door(READ)
            .path::<AvailabilitySitePath>()
            .service(SERVICE, ep::SITE_AVAILABILITY, |p, _, _| {
                Ok(SiteAvailability { site_id: p.site_id })
            })
            .reads_after()
            .answers::<AvailabilityHistory>(200, "the latest status and its history")
            .problems(&[(404, "no such site")])
            .into(),
        Route::get("list_listings", "/api/v1/listings")
            .tag(TAG)
            .summary("The listings of your municipality's sites: location, opening hours, capacity, what each can do (suction, tube feeding, terminal care, …), languages and a description.")
            .door(READ)
            .service(SERVICE, ep::LIST_LISTINGS, |_, _, _| Ok(ListListings {}))
            .reads_after()
            .answers::<Listings>(200, "the listings, by site")
            .into(),
        Route::put("change_listing", "/api/v1/sites/{site_id}/listing")
            .tag(TAG)
            .summary("Replace a site's listing (the whole of it: a field left out is cleared): for the secretariat of its municipality and its organisation's site admins. Kept with who and when.")
            .door(LISTING)
            .path::<AvailabilitySitePath>()
            .body::<Listing>()
            .service(SERVICE, ep::CHANGE_LISTING, |p, _, listing| {
                Ok(ChangeListing {
                    site_id: p.site_id,
                    listing,
                })
            })
            .answers::<ListingView>(200, "stored")
            .problems(&[
                (403, "not the secretariat of its municipality or a site admin of its organisation"),
                (404, "no such site"),
                (422, "a coordinate out of range or without its pair, a capability twice, or a text too long"),
            ])
            .into(),
        Route::put("update_availability", "/api/v1/sites/{site_id}/availability")
            .tag(TAG)
            .summary("Say what your site can take now, in one request: new users yes / no / with conditions (free text), new clients your care managers can take, vacancies by period. For the site's staff and its organisation's site admins; each update is kept with who and when.")
            .door(UPDATE)
            .path::<AvailabilitySitePath>()
            .body::<AvailabilityUpdate>()
            .service(SERVICE, ep::UPDATE_AVAILABILITY, |p, _, update| {
                Ok(UpdateAvailability {
                    site_id: p.site_id,
                    update,
                })
            })
            .answers::<AvailabilityUpdated>(200, "stored")
            .problems(&[
                (403, "not staff of this site or a site admin of its organisation"),
                (404, "no such site"),
                (422, "conditions missing for `conditional`, too long, or a period that ends before it starts (`/vacancies/<i>/until`)"),
            ])
            .into(),
    ]
}
