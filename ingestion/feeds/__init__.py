"""Every feed's loader, in load order: the registry first, because the others resolve school codes with it."""

from ingestion.feeds.gia import GiaLoader
from ingestion.feeds.improvement_programmes import ImprovementProgrammesLoader
from ingestion.feeds.individual_routes import IndividualRoutesLoader
from ingestion.feeds.kdr import KdrLoader
from ingestion.feeds.objectivity_markers import ObjectivityMarkersLoader
from ingestion.feeds.official_lists import Project500Loader, RiskProfilesLoader, ShnorListLoader
from ingestion.feeds.olympiads import OlympiadsLoader
from ingestion.feeds.performance import PerformanceLoader
from ingestion.feeds.registry import ReorganisationLoader, SchoolRegistryLoader
from ingestion.feeds.social_passport import SocialPassportLoader
from ingestion.feeds.support_events import SupportEventsLoader
from ingestion.feeds.teachers import TeachersLoader
from ingestion.feeds.vacancies import VacanciesLoader
from ingestion.feeds.vpr_flat import VprFlatMarksLoader, VprFlatScoresLoader
from ingestion.feeds.vpr_individual import VprIndividualLoader
from ingestion.feeds.vpr_reports import VprJournalLoader, VprMarksLoader, VprScoresLoader, VprTasksLoader

REGISTRY_LOADERS = (ReorganisationLoader, SchoolRegistryLoader)

LOADERS = (
    *REGISTRY_LOADERS,
    VprIndividualLoader, VprMarksLoader, VprScoresLoader, VprJournalLoader, VprTasksLoader,
    VprFlatMarksLoader, VprFlatScoresLoader, ObjectivityMarkersLoader,
    GiaLoader, ShnorListLoader, Project500Loader, RiskProfilesLoader, KdrLoader, SocialPassportLoader,
    PerformanceLoader, OlympiadsLoader, TeachersLoader, VacanciesLoader, SupportEventsLoader,
    ImprovementProgrammesLoader, IndividualRoutesLoader,
)

BY_FEED = {loader.feed: loader for loader in LOADERS}
