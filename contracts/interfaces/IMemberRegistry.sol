// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Member registry: the single source of truth for who may do what on the ledger.
/// @notice Members are addressed by a stable `memberId`; their signing account can be rotated
///         (lost key) without losing holdings, because the ledger contracts record holders by id.
interface IMemberRegistry {
    // ---------------------------------------------------------------- roles (bit mask)
    // CORE_ENTERPRISE = 1, SUPPLIER = 2, FINANCIER = 4, AUDITOR = 8.
    // Holding roles (may hold orders, notes and cash): CORE_ENTERPRISE | SUPPLIER | FINANCIER.

    enum Status {
        None,
        Active,
        Suspended
    }

    struct Member {
        address account; // current signing address
        uint8 roles; // bit mask of the roles above
        Status status;
        uint32 defaultCount; // receivables this member defaulted on as obligor
        bool issuanceBlocked; // set on default (policy), cleared by an operator
        uint64 groupId; // related-party group (0 = none)
        uint128 creditLimit; // obligors: maximum outstanding face value (minor units)
        uint128 outstanding; // obligors: face value issued and not yet settled/defaulted
        bytes32 kycHash; // hash of the KYC document / licence
    }

    // ---------------------------------------------------------------- errors
    error NotOperator(address account);
    error NotLedgerContract(address account);
    error UnknownMember(uint32 memberId);
    error NotAMember(address account);
    error MemberNotActive(address account, Status status);
    error MissingRole(address account, uint8 required, uint8 held);
    error AccountAlreadyRegistered(address account, uint32 memberId);
    error InvalidRoles(uint8 roles);
    error ZeroAddress();
    error CreditLimitExceeded(uint32 obligorId, uint256 outstanding, uint256 requested, uint256 limit);
    error IssuanceBlockedByDefault(uint32 obligorId, uint32 defaultCount);
    error OutstandingUnderflow(uint32 obligorId, uint256 outstanding, uint256 amount);
    error MemberNotSuspended(uint32 memberId);
    error NotBlocked(uint32 memberId);
    /// @notice The member's account is being rotated: its holdings are frozen until every token contract has
    ///         emitted the rotation's ERC-721 `Transfer` events and the operator finished the rotation.
    error MemberRotating(uint32 memberId);
    error MemberNotRotating(uint32 memberId);
    /// @notice `ledger` still has `pending` tokens of the member whose rotation `Transfer` was not emitted.
    error RotationIncomplete(uint32 memberId, address ledger, uint256 pending);

    // ---------------------------------------------------------------- events
    event MemberAdmitted(uint32 indexed memberId, address indexed account, uint8 roles, bytes32 kycHash, uint64 groupId);
    event MemberSuspended(uint32 indexed memberId);
    event MemberReinstated(uint32 indexed memberId);
    event MemberRolesChanged(uint32 indexed memberId, uint8 roles);
    event MemberKycUpdated(uint32 indexed memberId, bytes32 kycHash);
    event MemberGroupChanged(uint32 indexed memberId, uint64 groupId);
    event MemberAccountRotated(uint32 indexed memberId, address indexed oldAccount, address indexed newAccount);
    /// @notice The rotation's `Transfer` events are all emitted; the member's holdings move again.
    event RotationFinished(uint32 indexed memberId, uint32 indexed rotationId);
    event CreditLimitSet(uint32 indexed memberId, uint128 creditLimit);
    event OutstandingChanged(uint32 indexed obligorId, uint128 outstanding);
    event DefaultRecorded(uint32 indexed obligorId, uint32 defaultCount, bool issuanceBlocked, uint128 unpaidFaceValue);
    event DefaultBlockCleared(uint32 indexed obligorId);
    event LedgerContractSet(address indexed account, bool enabled);
    event BlockIssuanceOnDefaultSet(bool enabled);

    // ---------------------------------------------------------------- operator actions
    /// @notice Admits a member (operator only). Returns its new id (ids start at 1).
    /// @param account its signing account (not yet registered)
    /// @param roles its role bits (Roles)
    /// @param kycHash the hash of its KYC file
    /// @param groupId the group of related members it belongs to, 0 for none
    /// @param creditLimit the most it may owe as an obligor, in minor units
    /// @return memberId the new member id
    function admit(address account, uint8 roles, bytes32 kycHash, uint64 groupId, uint128 creditLimit)
        external
        returns (uint32 memberId);
    /// @notice Suspends a member (operator only): requireActive refuses it until it is reinstated.
    /// @param memberId the member
    function suspend(uint32 memberId) external;
    /// @notice Reinstates a suspended member (operator only).
    /// @param memberId the member
    function reinstate(uint32 memberId) external;
    /// @notice Sets a member's roles (operator only).
    /// @param memberId the member
    /// @param roles its new role bits (Roles)
    function setRoles(uint32 memberId, uint8 roles) external;
    /// @notice Sets a member's KYC hash (operator only).
    /// @param memberId the member
    /// @param kycHash the hash of its KYC file
    function setKycHash(uint32 memberId, bytes32 kycHash) external;
    /// @notice Sets a member's group (operator only).
    /// @param memberId the member
    /// @param groupId its group, 0 for none
    function setGroup(uint32 memberId, uint64 groupId) external;
    /// @notice Sets a member's credit limit (operator only).
    /// @param memberId the member
    /// @param creditLimit the most it may owe as an obligor, in minor units
    function setCreditLimit(uint32 memberId, uint128 creditLimit) external;
    /// @notice Moves a member to a new signing account; holdings follow the member id. When a token contract
    ///         holds tokens of the member, the member is frozen (`MemberRotating`) until those contracts emitted
    ///         `Transfer(old, new, id)` for each token (`emitRotationTransfers`) and `finishRotation` ran;
    ///         a member without tokens is rotated at once.
    /// @param memberId The member.
    /// @param newAccount Its new signing account (not registered).
    function rotateAccount(uint32 memberId, address newAccount) external;
    /// @notice Ends a rotation once no ledger contract reports pending rotation transfers (operator only).
    /// @param memberId The rotating member.
    function finishRotation(uint32 memberId) external;
    /// @notice Lets a member that defaulted issue receivables again (operator only).
    /// @param memberId the member
    function clearDefaultBlock(uint32 memberId) external;
    /// @notice Whether a default blocks the obligor's further issuance (operator only).
    /// @param enabled true to block
    function setBlockIssuanceOnDefault(bool enabled) external;
    /// @notice Marks a ledger contract (OrderBook, ReceivableNotes, Financing, Settlement, CashToken) as trusted
    ///         to call the accounting hooks below and the tokens' ledger moves. Operator only.
    /// @param account the contract
    /// @param enabled whether it is trusted
    function setLedgerContract(address account, bool enabled) external;

    // ---------------------------------------------------------------- ledger hooks (ledger contracts only)
    /// @notice Raises what an obligor owes (a receivable issued).
    /// @dev Reverts CreditLimitExceeded / IssuanceBlockedByDefault.
    /// @param obligorId the obligor
    /// @param amount the face value added, in minor units
    function increaseOutstanding(uint32 obligorId, uint128 amount) external;
    /// @notice Lowers what an obligor owes (a receivable settled or defaulted).
    /// @param obligorId the obligor
    /// @param amount the face value removed, in minor units
    function decreaseOutstanding(uint32 obligorId, uint128 amount) external;
    /// @notice Records an obligor's default (and blocks its issuance when so configured).
    /// @param obligorId the obligor
    /// @param unpaidFaceValue what it left unpaid, in minor units
    function recordDefault(uint32 obligorId, uint128 unpaidFaceValue) external;

    // ---------------------------------------------------------------- views
    /// @notice Whether an account is an operator.
    /// @param account the account
    /// @return true for an operator
    function isOperator(address account) external view returns (bool);
    /// @notice Whether an account is a trusted ledger contract.
    /// @param account the account
    /// @return true for a ledger contract
    function isLedgerContract(address account) external view returns (bool);
    /// @notice Returns the member id of an account that is Active and holds any role in `roleMask`;
    ///         reverts NotAMember / MemberNotActive / MissingRole otherwise. The hot-path check.
    /// @param account the account
    /// @param roleMask the roles, any of which will do
    /// @return memberId its member id
    function requireActive(address account, uint8 roleMask) external view returns (uint32 memberId);
    /// @notice Same as requireActive, by id; returns the member's current account.
    /// @param memberId the member
    /// @param roleMask the roles, any of which will do
    /// @return account its current account
    function requireActiveId(uint32 memberId, uint8 roleMask) external view returns (address account);
    /// @notice Whether an account is an active member with any role in `roleMask` (requireActive without reverting).
    /// @param account the account
    /// @param roleMask the roles, any of which will do
    /// @return true when requireActive would pass
    function isActive(address account, uint8 roleMask) external view returns (bool);
    /// @notice The member an account is the current account of.
    /// @param account the account
    /// @return its member id, 0 for none
    function memberIdOf(address account) external view returns (uint32);
    /// @notice A member's current account.
    /// @param memberId the member
    /// @return its account
    function accountOf(uint32 memberId) external view returns (address);
    /// @notice A member's record.
    /// @param memberId the member
    /// @return the member
    function member(uint32 memberId) external view returns (Member memory);
    /// @notice How many members were admitted.
    /// @return the number of members (the last member id)
    function memberCount() external view returns (uint32);
    /// @notice Whether a default blocks the obligor's further issuance.
    /// @return true when it does
    function blockIssuanceOnDefault() external view returns (bool);
    /// @notice The member an account belonged to before a rotation moved the member to a new account (0 = none).
    /// @param account the rotated-out account
    /// @return the member id, 0 for none
    function formerMemberIdOf(address account) external view returns (uint32);
    /// @notice The member's latest rotation.
    /// @param memberId The member.
    /// @return rotationId Ledger-wide id of its latest rotation (0 = never rotated).
    /// @return previous The account it was rotated from.
    /// @return rotating Whether that rotation is not finished (holdings frozen).
    function rotationOf(uint32 memberId) external view returns (uint32 rotationId, address previous, bool rotating);
}
