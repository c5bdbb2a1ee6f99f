import copy

from rest_framework import serializers

from ehr.models import AuditEvent, User


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ``ModelSerializer``, reading its model's fields once per class.

    DRF builds every field from the model's metadata each time a serializer is
    made (on every request). What it builds depends on ``Meta`` and the declared
    fields only, so it is built once per class and each instance gets a deep copy,
    as DRF already gives each instance its own copy of the declared fields.
    """

    def get_fields(self):
        cls = type(self)
        fields = cls.__dict__.get("_model_fields")
        if fields is None:
            fields = super().get_fields()
            cls._model_fields = fields
        return copy.deepcopy(fields)


class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
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
    password = serializers.CharField(
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
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(
        max_length=128, style={"input_type": "password"}, trim_whitespace=False
    )
    otp = serializers.CharField(max_length=12, required=False, allow_blank=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)
