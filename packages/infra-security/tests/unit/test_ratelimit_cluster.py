"""Redis Cluster backend without a server: key hash tags and the checks made before any connection."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra_security.errors import RateLimitBackendError
from infra_security.ratelimit._redis_cluster import RedisClusterBackend, cluster_key

key_slot = pytest.importorskip("redis.crc").key_slot  # the [redis] extra; absent when the package is tested alone


class TestClusterKey:
    def test_shape(self) -> None:
        assert cluster_key("rl:", "gcra", "p:c:/x") == "rl:g:{p:c:/x}"
        assert cluster_key("rl:", "sliding_window", "p:c:/x") == "rl:s:{p:c:/x}"

    @given(st.text(min_size=1).filter(lambda k: not k.startswith("}")), st.sampled_from(["rl:", "a:b:", ""]))
    def test_both_states_of_a_key_share_one_slot(self, key: str, prefix: str) -> None:
        g = cluster_key(prefix, "gcra", key).encode()
        s = cluster_key(prefix, "sliding_window", key).encode()
        assert key_slot(g) == key_slot(s)

    @given(st.text(alphabet="abc:/%", min_size=1, max_size=12))
    def test_the_slot_is_the_rate_limit_keys_own(self, key: str) -> None:
        # Without braces in the key, the slot is exactly CRC16 of the key: the prefix and algorithm do not move it.
        assert key_slot(cluster_key("x:", "gcra", key).encode()) == key_slot(key.encode())

    def test_keys_spread_over_the_slot_space(self) -> None:
        slots = {key_slot(cluster_key("rl:", "gcra", f"p:client-{i}:/e").encode()) for i in range(1000)}
        thirds = {slot * 3 // 16384 for slot in slots}
        assert len(slots) > 900 and thirds == {0, 1, 2}


class _Retry:
    def __init__(self, retries: int) -> None:
        self.retries = retries

    def get_retries(self) -> int:
        return self.retries


class _Client:
    """Just enough of a cluster client for the checks made before the first command."""

    def __init__(self, retries: int) -> None:
        self.retry = _Retry(retries)


class TestChecks:
    @pytest.mark.parametrize("prefix", ["{", "}", "rl:{t}:"])
    def test_prefix_with_braces_refused(self, prefix: str) -> None:
        with pytest.raises(RateLimitBackendError, match=r"prefix must not contain .* hash slot"):
            RedisClusterBackend(_Client(0), prefix=prefix)

    @pytest.mark.parametrize("retries", [1, 3])
    def test_client_that_retries_commands_refused(self, retries: int) -> None:
        with pytest.raises(RateLimitBackendError, match=rf"\({retries} retries\).*count twice"):
            RedisClusterBackend(_Client(retries))

    @pytest.mark.parametrize("timeout", [0, -1.0, float("inf"), float("nan")])
    def test_timeout_must_be_positive_and_finite(self, timeout: Any) -> None:
        with pytest.raises(RateLimitBackendError, match="timeout"):
            RedisClusterBackend(_Client(0), timeout=timeout)
