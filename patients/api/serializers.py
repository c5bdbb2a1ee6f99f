from rest_framework import serializers

from patients.models import Patient
from patients.selectors import care_team_ids


class PatientSerializer(serializers.ModelSerializer):
    care_team = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = [
            "id",
            "mrn",
            "first_name",
            "last_name",
            "date_of_birth",
            "sex",
            "phone",
            "email",
            "address",
            "emergency_contact",
            "referring_provider",
            "responsible_prescriber",
            "primary_diagnosis",
            "status",
            "care_team",
        ]
        read_only_fields = ["mrn", "care_team"]

    def get_care_team(self, patient) -> list[int]:
        return care_team_ids(patient)
