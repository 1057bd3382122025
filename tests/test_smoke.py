"""The app builds on both databases, migrated, and answers its basic routes."""


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["X-Correlation-Id"]


def test_readiness_reports_database(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.get_json()["data"]
    assert body["checks"]["database"]["status"] == "up"


def test_dashboard_needs_sign_in(client, admin_client):
    assert client.get("/").status_code == 302
    assert admin_client.get("/").status_code == 200
