from shop.errors import ErrorCode


class StaffError(ErrorCode):
    LOGIN_FAILED = ("staff_login_failed", 401)
    USERNAME_TAKEN = ("staff_username_taken", 409)
