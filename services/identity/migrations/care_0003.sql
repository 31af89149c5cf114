-- A member's list of patients starts from the seats ever given at their sites or to them
-- (the fold of each patient's changes says whether the seat is held now). Indexes only:
-- built from the rows already there, so nothing needs replaying.
CREATE INDEX patient_changes_seat_site ON patient_changes ((change->'membership'->>'site'), patient_id)
    WHERE change->>'change' = 'team_member_added';
CREATE INDEX patient_changes_seat_member ON patient_changes ((change->'membership'->>'member'), patient_id)
    WHERE change->>'change' = 'team_member_added';
CREATE INDEX patients_by_home_and_id ON patients (home_municipality, patient_id);
