"""One tokenizer, five cases, round trips, and hostile names refused with a reason and a proposal."""

from __future__ import annotations

import keyword

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra_gen.errors import InvalidNameError
from infra_gen.names import MAX_NAME_LENGTH, parse_name, split_words, suggest_name


class TestCases:
    @pytest.mark.parametrize(
        ("raw", "snake", "pascal", "camel", "kebab", "constant"),
        [
            ("HTTPClient", "http_client", "HTTPClient", "httpClient", "http-client", "HTTP_CLIENT"),
            ("OAuth2Token", "oauth2_token", "OAuth2Token", "oauth2Token", "oauth2-token", "OAUTH2_TOKEN"),
            ("RedisAdapter", "redis_adapter", "RedisAdapter", "redisAdapter", "redis-adapter", "REDIS_ADAPTER"),
            ("vault_adapter", "vault_adapter", "VaultAdapter", "vaultAdapter", "vault-adapter", "VAULT_ADAPTER"),
            ("AI", "ai", "AI", "ai", "ai", "AI"),
            ("Orders Effect", "orders_effect", "OrdersEffect", "ordersEffect", "orders-effect", "ORDERS_EFFECT"),
            ("user-id", "user_id", "UserID", "userID", "user-id", "USER_ID"),
            ("HTTPAPIClient", "http_api_client", "HTTPAPIClient", "httpAPIClient", "http-api-client",
             "HTTP_API_CLIENT"),
            ("PostgreSQLAdapter", "postgresql_adapter", "PostgreSQLAdapter", "postgresqlAdapter", "postgresql-adapter",
             "POSTGRESQL_ADAPTER"),
            ("s3_uploader", "s3_uploader", "S3Uploader", "s3Uploader", "s3-uploader", "S3_UPLOADER"),
        ],
    )  # fmt: skip
    def test_every_case(self, raw: str, snake: str, pascal: str, camel: str, kebab: str, constant: str) -> None:
        name = parse_name(raw)
        assert (name.snake, name.pascal, name.camel, name.kebab, name.constant) == (
            snake,
            pascal,
            camel,
            kebab,
            constant,
        )

    def test_acronyms_stay_readable(self) -> None:
        assert parse_name("xml_parser").pascal == "XMLParser"
        assert parse_name("io_s3").pascal == "IoS3"  # "IOS3" would read back as one word


class TestRejects:
    @pytest.mark.parametrize(
        ("raw", "reason", "suggestion"),
        [
            ("", "empty", None),
            ("   ", "empty", None),
            ("class", "keyword", "class_node"),
            ("match", "keyword", "match_node"),
            ("1st_adapter", "starts with a digit", "st_adapter"),
            ("../etc/passwd", "path separator", "etc_passwd"),
            ("a\\b", "path separator", "ab"),
            ("..hidden", "`..`", "hidden"),
            ("x" * (MAX_NAME_LENGTH + 1), "more than", "x" * MAX_NAME_LENGTH),
            ("json", "standard-library", "json_node"),
            ("infra_models", "reserved", "infra_models_node"),
            ("Pydantic", "reserved", "pydantic_node"),
            ("naïve", "'ï'", "naive"),
            ("drop;table", "';'", "drop_table"),
            ("a_b", "do not survive", "ab"),
            ("_", "no letters", None),
        ],
    )
    def test_reason_and_proposal(self, raw: str, reason: str, suggestion: str | None) -> None:
        with pytest.raises(InvalidNameError, match="invalid node name") as info:
            parse_name(raw)
        assert reason in info.value.details["reason"]
        assert info.value.details["suggestion"] == suggestion
        if suggestion is not None:
            assert f"try `{suggestion}`" in str(info.value)
            parse_name(suggestion)  # the proposal is itself valid


words = st.lists(
    st.from_regex(r"[a-z][a-z0-9]{0,7}", fullmatch=True) | st.sampled_from(["http", "api", "oauth2", "id", "s3"]),
    min_size=1,
    max_size=5,
)


class TestProperties:
    @given(words)
    def test_every_rendering_reads_back_the_same_words(self, parts: list[str]) -> None:
        raw = "_".join(parts)
        try:
            name = parse_name(raw)
        except InvalidNameError:
            return
        for form in (name.snake, name.pascal, name.camel, name.kebab, name.constant):
            assert parse_name(form).words == name.words

    @given(st.text(max_size=60))
    def test_any_text_is_accepted_valid_or_refused_with_a_valid_proposal(self, raw: str) -> None:
        try:
            name = parse_name(raw)
        except InvalidNameError as exc:
            proposal = exc.details["suggestion"]
            if proposal is not None:
                assert parse_name(proposal).snake == proposal
            return
        assert name.snake.isidentifier()
        assert not keyword.iskeyword(name.snake)
        assert name.pascal.isidentifier()
        assert len(name.snake) <= MAX_NAME_LENGTH

    @given(words)
    def test_snake_is_a_fixed_point(self, parts: list[str]) -> None:
        try:
            name = parse_name("_".join(parts))
        except InvalidNameError:
            return
        assert parse_name(name.snake).snake == name.snake
        assert split_words(name.snake) == name.words


def test_suggest_name_gives_up_on_nothing() -> None:
    assert suggest_name("!!!") is None
