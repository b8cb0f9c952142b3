//! The standard two-node topology of the tests (the shipped demo, on free ports): CPO node
//! DE*GEF with its backend, EMP node DE-GDF with its backend, registered with each other.

use roambridge::config::Role;

use crate::harness::{Double, Node};

pub const CPO_BACKEND: &str = "cpo-backend-token";
pub const EMP_BACKEND: &str = "emp-backend-token";
pub const GEF_TO_GDF: &str = "gef-to-gdf";
pub const GDF_TO_GEF: &str = "gdf-to-gef";

pub struct Pair {
    pub cpo: Node,
    pub emp: Node,
    pub cpo_backend: Double,
    pub emp_backend: Double,
}

pub fn party(role: &str, id: &str, backend: &Double, token: &str) -> String {
    format!(
        "[[party]]\nrole = \"{role}\"\nid = \"{id}\"\nbackend = \"{}\"\nbackend_token = \"{token}\"\n",
        backend.url()
    )
}

pub async fn pair() -> Pair {
    let cpo_backend = Double::start().await;
    let emp_backend = Double::start().await;
    let cpo = Node::start(&party("cpo", "DE*GEF", &cpo_backend, CPO_BACKEND)).await;
    let emp = Node::start(&party("emp", "DE-GDF", &emp_backend, EMP_BACKEND)).await;
    cpo.add_peer(
        Role::Emp,
        "DE-GDF",
        &emp.url(),
        Some(GEF_TO_GDF),
        Some(GDF_TO_GEF),
        2000,
    );
    emp.add_peer(
        Role::Cpo,
        "DE*GEF",
        &cpo.url(),
        Some(GDF_TO_GEF),
        Some(GEF_TO_GDF),
        2000,
    );
    Pair {
        cpo,
        emp,
        cpo_backend,
        emp_backend,
    }
}

impl Pair {
    /// CPO-side path on the CPO node (`…/operators/DE*GEF/…`).
    pub fn cpo_url(&self, path: &str) -> String {
        format!("{}{}", self.cpo.url(), path)
    }

    pub fn emp_url(&self, path: &str) -> String {
        format!("{}{}", self.emp.url(), path)
    }
}
