"""The working-time calendar: public holidays, office hours and the administrator's exceptions."""

from workflows.calendar.working_time import (
    LOCAL,
    CalendarError,
    DayException,
    Holiday,
    WorkingCalendar,
    WorkingHours,
    government_workdays,
    vietnam_holidays,
)

__all__ = ["LOCAL", "CalendarError", "DayException", "Holiday", "WorkingCalendar", "WorkingHours",
           "government_workdays", "vietnam_holidays"]
