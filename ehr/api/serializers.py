import copy
from collections.abc import Mapping

from django.db import models
from django.utils.functional import cached_property
from rest_framework import serializers
from rest_framework.fields import Field, SkipField, empty
from rest_framework.relations import (
    ManyRelatedField,
    PKOnlyObject,
    PrimaryKeyRelatedField,
    RelatedField,
)

from ehr.models import AuditEvent, User

#: Fields holding other fields (bound to them), re-made from their arguments.
_NESTING = (
    serializers.ListField,
    serializers.DictField,
    serializers.BaseSerializer,
    ManyRelatedField,
)


class CharField(serializers.CharField):
    """DRF's ``CharField``, whose ``max_length`` counts the text as it was sent.

    DRF trims leading and trailing whitespace before it checks the length, so a text
    over the limit only by its whitespace was accepted, cut to fit, although the
    schema's ``maxLength`` says it is too long. This field refuses it with the same
    message as any other text over the limit; the stored text is still trimmed.
    """

    def run_validation(self, data=empty):
        if self.max_length is not None and isinstance(data, str) and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().run_validation(data)


class RelatedIdField(serializers.PrimaryKeyRelatedField):
    """DRF's ``PrimaryKeyRelatedField``, refusing an empty string.

    DRF reads ``""`` as null for a relation (a habit of HTML forms), so ``{"user": ""}``
    unlinked a record although the schema asks for an id or null. The API takes JSON
    only, where null is written ``null``: ``""`` is refused like any other text.
    """

    def run_validation(self, data=empty):
        if data == "":
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().run_validation(data)


def _copy_field(field: Field) -> Field:
    """A copy of an unbound field for one serializer instance to bind.

    A plain field is copied shallowly: binding sets its name, parent and source on
    the copy only, and what it shares with the class's field (querysets, choices,
    validators, error messages) is only read. A field holding other fields (a list's
    ``child``, a nested serializer) is re-made from the arguments it was made with,
    deep-copying only the fields among them, since those are bound to their parent:
    what DRF's ``Field.__deepcopy__`` does, without deep-copying querysets.
    """
    if not isinstance(field, _NESTING):
        return copy.copy(field)

    def copied(value):
        return copy.deepcopy(value) if isinstance(value, Field) else value

    args = [copied(value) for value in field._args]
    kwargs = {key: copied(value) for key, value in field._kwargs.items()}
    return type(field)(*args, **kwargs)


def _reads_column(field: Field) -> bool:
    return type(field).get_attribute is Field.get_attribute


def _reads_foreign_key(field: Field) -> bool:
    return (
        isinstance(field, PrimaryKeyRelatedField)
        and type(field).get_attribute is RelatedField.get_attribute
        and type(field).to_representation is PrimaryKeyRelatedField.to_representation
        and field.pk_field is None
        and field.use_pk_only_optimization()
    )


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ``ModelSerializer``, reading its model's fields once per class.

    DRF builds every field from the model's metadata each time a serializer is
    made (on every request). What it builds depends on ``Meta`` and the declared
    fields only, so it is built once per class and each instance gets its own
    copies (``_copy_field``), as DRF gives each instance its own copy of the
    declared fields.

    Text columns are read by ``CharField`` (their limit counts the text as sent), and
    relations by ``RelatedIdField`` (an empty string is not null).

    Output is DRF's, computed with less machinery: a field that shows a model
    column (or a foreign key as its id) reads the attribute directly instead of
    through DRF's generic attribute walk; every other field goes through DRF.
    """

    serializer_related_field = RelatedIdField
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: CharField,
        models.TextField: CharField,
    }

    def get_fields(self):
        cls = type(self)
        fields = cls.__dict__.get("_model_fields")
        if fields is None:
            fields = super().get_fields()
            cls._model_fields = fields
        return {name: _copy_field(field) for name, field in fields.items()}

    @cached_property
    def _readers(self) -> list[tuple[Field, str | None, bool]]:
        """Each readable field, the model attribute it shows directly (or None), and
        whether that attribute is a foreign key's id (worked out once per class)."""
        cls = type(self)
        plan = cls.__dict__.get("_reader_plan")
        if plan is None:
            plan = cls._reader_plan = {}
        readers = []
        for field in self._readable_fields:
            key = (field.field_name, type(field))
            if key not in plan:
                plan[key] = self._direct_attribute(field)
            readers.append((field, *plan[key]))
        return readers

    def _direct_attribute(self, field: Field) -> tuple[str | None, bool]:
        meta = self.Meta.model._meta
        attrs = field.source_attrs
        name = attrs[0] if len(attrs) == 1 else None
        if name is None:
            return None, False
        model_field = next((f for f in meta.concrete_fields if f.name == name), None)
        if model_field is None:
            return None, False
        if model_field.many_to_one:
            return (model_field.attname, True) if _reads_foreign_key(field) else (None, False)
        if not model_field.is_relation and _reads_column(field):
            return model_field.attname, False
        return None, False

    def to_representation(self, instance):
        if isinstance(instance, Mapping):
            return super().to_representation(instance)
        ret = {}
        for field, attribute, is_key in self._readers:
            if attribute is not None:
                value = getattr(instance, attribute)
                if value is None or is_key:
                    ret[field.field_name] = value
                else:
                    ret[field.field_name] = field.to_representation(value)
                continue
            try:
                value = field.get_attribute(instance)
            except SkipField:
                continue
            check_for_none = value.pk if isinstance(value, PKOnlyObject) else value
            if check_for_none is None:
                ret[field.field_name] = None
            else:
                ret[field.field_name] = field.to_representation(value)
        return ret


class ScopedPrimaryKeyField(RelatedIdField):
    """An id among the records ``selector(user=<the requesting user>)`` returns.

    An id outside that set is refused exactly like one that does not exist, so
    input never reveals whether another patient's record is there.
    """

    def __init__(self, *, selector, **kwargs):
        self.selector = selector
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        return self.selector(user=getattr(request, "user", None))


class UserSerializer(ModelSerializer):
    password = CharField(
        write_only=True,
        required=False,
        style={"input_type": "password"},
        max_length=128,
        # A password is taken as typed: spaces at either end are part of it.
        trim_whitespace=False,
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "role",
            "is_active",
            "password",
        ]
        extra_kwargs = {"role": {"required": True}}

    def validate(self, attrs):
        if self.instance is None and not attrs.get("password"):
            raise serializers.ValidationError(
                {"password": ["A password is required for a new account."]}
            )
        return attrs


class AuditEventSerializer(ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "user",
            "username",
            "action",
            "object_type",
            "object_id",
            "patient",
            "ip",
            "path",
            "method",
            "status_code",
            "detail",
        ]
        read_only_fields = fields


class TokenRequestSerializer(serializers.Serializer):
    username = CharField(max_length=150)
    password = CharField(max_length=128, style={"input_type": "password"}, trim_whitespace=False)
    otp = CharField(max_length=12, required=False, allow_blank=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)
