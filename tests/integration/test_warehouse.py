from baton import warehouse


def test_fresh_warehouse_is_a_real_postgres_database_of_its_own(fresh_warehouse):
    with warehouse.connect(fresh_warehouse) as conn:
        name, version = conn.execute("select current_database(), current_setting('server_version_num')::int").fetchone()
    assert name.startswith("baton_t_")
    assert version >= 150000


def test_url_parts_feed_dbt_profile_from_a_socket_url():
    parts = warehouse.url_parts("postgresql://postgres:@/baton?host=/tmp/pg")
    assert parts == {"host": "/tmp/pg", "port": "5432", "user": "postgres", "password": "", "dbname": "baton"}
    parts = warehouse.url_parts("postgresql://u:p%40ss@db.example:6543/wh")
    assert parts == {"host": "db.example", "port": "6543", "user": "u", "password": "p@ss", "dbname": "wh"}
