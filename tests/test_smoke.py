def test_shopper_logs_in_with_a_wechat_code(client):
    response = client.post("/api/v1/auth/wechat-login", json={"code": "alice:1"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["is_new"] is True and body["token"]
