//! Distances for `SearchCenter` filters, and the coordinate format of pull answers
//! (`GeoCoordinatesResponseFormat`, oicp-2.3.md §3.4).
//!
//! A search first narrows the candidates in SQL with a latitude/longitude box around the
//! circle ([`BoundingBox`]), then keeps those within the radius by great-circle distance
//! ([`distance_km`]): `SQLite` has no trigonometry without extra functions, and the box keeps
//! the exact check to a few rows.

use crate::oicp::v23::common::{
    DecimalDegree, DecimalLatitude, DecimalLongitude, GeoCoordinates, SearchCenter,
};
use crate::oicp::v23::evse_data::GeoCoordinatesResponseFormat;
use crate::oicp::v23::wire::Extra;

/// Mean Earth radius (IUGG), in km.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Kilometres per degree of latitude.
const KM_PER_DEGREE: f64 = EARTH_RADIUS_KM * std::f64::consts::PI / 180.0;

/// A search circle: centre in decimal degrees and radius in km.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Circle {
    pub(super) lat: f64,
    pub(super) lon: f64,
    pub(super) radius_km: f64,
}

impl Circle {
    /// The circle of an OICP `SearchCenter` (`Radius` in km). `None` if the coordinates have
    /// no readable value, which the wire types rule out.
    pub(super) fn from_search_center(center: &SearchCenter) -> Option<Self> {
        let (lat, lon) = center.geo_coordinates.lat_lon()?;
        let radius_km = center.radius.to_string().parse().ok()?;
        Some(Self {
            lat,
            lon,
            radius_km,
        })
    }

    /// Whether a point lies within the circle (on the edge counts as inside).
    pub(super) fn contains(&self, lat: f64, lon: f64) -> bool {
        distance_km(self.lat, self.lon, lat, lon) <= self.radius_km
    }

    /// A box that contains the circle, a little larger to absorb rounding.
    pub(super) fn bounding_box(&self) -> BoundingBox {
        let dlat = self.radius_km / KM_PER_DEGREE * 1.01 + 1e-6;
        let (min_lat, max_lat) = (self.lat - dlat, self.lat + dlat);
        let cos = self.lat.to_radians().cos();
        // Near a pole, or where the box would cross the antimeridian, any longitude may be in
        // the circle: no longitude bound.
        let lon = if min_lat <= -90.0 || max_lat >= 90.0 || cos < 1e-6 {
            None
        } else {
            let dlon = dlat / cos;
            let (min, max) = (self.lon - dlon, self.lon + dlon);
            (min >= -180.0 && max <= 180.0).then_some((min, max))
        };
        BoundingBox {
            lat: (min_lat, max_lat),
            lon,
        }
    }
}

/// A latitude range and, unless it would be unbounded, a longitude range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct BoundingBox {
    pub(super) lat: (f64, f64),
    pub(super) lon: Option<(f64, f64)>,
}

/// Great-circle distance in km between two points in decimal degrees (haversine formula).
pub(super) fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// Rewrites `coords` in the requested format. `Google` and `DecimalDegree` are produced from
/// any input format (6 decimals); for `DegreeMinuteSeconds` (and unknown formats) the record
/// keeps the format the CPO pushed. Unknown members of the coordinates object are kept.
pub(super) fn convert(coords: &mut GeoCoordinates, format: &GeoCoordinatesResponseFormat) {
    let Some((lat, lon)) = coords.lat_lon() else {
        return;
    };
    match format {
        GeoCoordinatesResponseFormat::Google if coords.google.is_none() => {
            if let Ok(google) = GeoCoordinates::google(lat, lon) {
                coords.google = google.google;
                coords.decimal_degree = None;
                coords.degree_minute_seconds = None;
            }
        }
        GeoCoordinatesResponseFormat::DecimalDegree if coords.decimal_degree.is_none() => {
            let latitude = DecimalLatitude::parse(&format!("{lat:.6}"));
            let longitude = DecimalLongitude::parse(&format!("{lon:.6}"));
            if let (Ok(latitude), Ok(longitude)) = (latitude, longitude) {
                coords.decimal_degree = Some(DecimalDegree {
                    longitude,
                    latitude,
                    extra: Extra::new(),
                });
                coords.google = None;
                coords.degree_minute_seconds = None;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_distances() {
        // Berlin Brandenburger Tor to Munich Marienplatz: about 504 km.
        let d = distance_km(52.516_275, 13.377_704, 48.137_154, 11.576_124);
        assert!((d - 504.0).abs() < 2.0, "{d}");
        assert!(distance_km(10.0, 20.0, 10.0, 20.0).abs() < 1e-9);
        // One degree of latitude.
        let d = distance_km(0.0, 0.0, 1.0, 0.0);
        assert!((d - KM_PER_DEGREE).abs() < 1e-6, "{d}");
    }

    #[test]
    fn box_contains_circle() {
        let c = Circle {
            lat: 52.5,
            lon: 13.4,
            radius_km: 10.0,
        };
        let b = c.bounding_box();
        let (min_lon, max_lon) = b.lon.unwrap();
        // Points on the circle in the four directions are inside the box.
        for (lat, lon) in [(52.59, 13.4), (52.41, 13.4), (52.5, 13.547), (52.5, 13.253)] {
            assert!(c.contains(lat, lon) || distance_km(52.5, 13.4, lat, lon) < 10.1);
            assert!(b.lat.0 <= lat && lat <= b.lat.1 && min_lon <= lon && lon <= max_lon);
        }
        let polar = Circle {
            lat: 89.99,
            lon: 0.0,
            radius_km: 50.0,
        };
        assert!(polar.bounding_box().lon.is_none());
        let dateline = Circle {
            lat: 0.0,
            lon: 179.99,
            radius_km: 50.0,
        };
        assert!(dateline.bounding_box().lon.is_none());
    }

    #[test]
    fn converts_to_google_and_decimal_degree() {
        let dms: GeoCoordinates = serde_json::from_str(
            r#"{"DegreeMinuteSeconds":{"Latitude":"52°28'49.78''","Longitude":"13°21'23.27''"},"X":1}"#,
        )
        .unwrap();
        let mut google = dms.clone();
        convert(&mut google, &GeoCoordinatesResponseFormat::Google);
        let json = serde_json::to_value(&google).unwrap();
        assert_eq!(json["Google"]["Coordinates"], "52.480494 13.356464");
        assert!(json.get("DegreeMinuteSeconds").is_none());
        assert_eq!(json["X"], 1);

        let mut decimal = google.clone();
        convert(&mut decimal, &GeoCoordinatesResponseFormat::DecimalDegree);
        let json = serde_json::to_value(&decimal).unwrap();
        assert_eq!(json["DecimalDegree"]["Latitude"], "52.480494");
        assert_eq!(json["DecimalDegree"]["Longitude"], "13.356464");

        let mut kept = dms.clone();
        convert(
            &mut kept,
            &GeoCoordinatesResponseFormat::DegreeMinuteSeconds,
        );
        assert_eq!(kept, dms);
    }
}
